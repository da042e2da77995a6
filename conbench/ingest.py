"""Storing results: idempotent submission (02 §3.1), commit resolution and one set-based insert.

Both API surfaces, the bulk form, the seed data and the CLI's server all end in `store_results`:
every result of a call is stored by one statement, or none is.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import psycopg
from psycopg import errors as pg_errors

from conbench import metrics
from conbench.canonical import payload_sha256
from conbench.queries import ingest as queries
from conbench.validation import (
    BusinessRuleError,
    Cluster,
    Machine,
    ResultInput,
    ValidationFailed,
    prepare_result,
)

log = logging.getLogger(__name__)

SUBMISSION_KEY_INDEX = "benchmark_result_submission_key_index"
CONFLICT_MESSAGE = "submission key already exists with different content"
BAD_TEXT = "text must not contain NUL characters (\\u0000) or unpaired surrogates"
MAX_KEY_LENGTH = 255
# A race on a submission key re-reads and decides again; a deadlock between two bulk requests
# that create the same new dimension rows in a different order is retried as a whole.
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class StoredResult:
    """What a submission answers: the stored (or replayed) result's identity."""

    id: str
    run_id: str
    history_fingerprint: str
    replayed: bool = False


@dataclass(frozen=True)
class CommitRef:
    """What a result says about its commit; `timestamp` is the result's own (naive UTC)."""

    repository: str
    sha: str
    branch: str | None = None
    pr_number: int | None = None
    timestamp: datetime | None = None


@dataclass(frozen=True)
class NewCommit:
    """The commit row to store when (sha, repository) is not in the database yet.

    The defaults are the "unknown" commit of 03 §2.4: empty message and author, the rest NULL.
    `backfill_branch` is not a column: the default-branch label to backfill (05 §5) when GitHub
    placed the commit on its default branch.
    """

    parent: str | None = None
    message: str = ""
    author_name: str = ""
    author_login: str | None = None
    author_avatar: str | None = None
    timestamp: datetime | None = None
    branch: str | None = None
    fork_point_sha: str | None = None
    backfill_branch: str | None = None

    def columns(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "backfill_branch"}


class CommitResolver(Protocol):
    """Decides what to store for a commit the database does not know (05 §1).

    `offline` resolvers are cheap and may be asked about commits that already exist (their answer
    is then unused); others, like GitHub enrichment, are asked only about missing commits.
    """

    offline: bool

    def resolve(self, ref: CommitRef) -> NewCommit: ...


@runtime_checkable
class BatchCommitResolver(CommitResolver, Protocol):
    """A resolver that decides the missing commits of one request together, so they can share
    one time budget (GitHub enrichment, CONBENCH_GITHUB_TIMEOUT)."""

    def resolve_many(self, refs: Sequence[CommitRef]) -> list[NewCommit]: ...


class UnknownCommitResolver:
    """No GitHub: every new commit is stored "unknown", to be repaired later (05 §2.3, §6)."""

    offline = True

    def resolve(self, ref: CommitRef) -> NewCommit:
        return NewCommit()


class LocalCommitMap:
    """Development and seed mode (05 §2.3): commits from a fixed map by sha, others synthesized
    as default-branch commits dated like their result, so local histories work offline."""

    offline = True

    def __init__(self, commits: Mapping[str, NewCommit] | None = None) -> None:
        self.commits = dict(commits or {})

    def resolve(self, ref: CommitRef) -> NewCommit:
        known = self.commits.get(ref.sha)
        if known is not None:
            return known
        return NewCommit(timestamp=ref.timestamp, fork_point_sha=ref.sha)


def commit_resolver_for(init_schema: bool, seed: bool) -> CommitResolver:
    """The resolver of a server without GitHub credentials: local in development, else unknown."""
    return LocalCommitMap() if init_schema or seed else UnknownCommitResolver()


class SubmissionConflict(Exception):
    """Submission keys stored (or repeated in one request) with other content; nothing stored."""

    def __init__(self, indexes: Sequence[int]) -> None:
        super().__init__(CONFLICT_MESSAGE)
        self.indexes = list(indexes)
        self.message = CONFLICT_MESSAGE


class InvalidItems(Exception):
    """Items that failed validation, by index; nothing was stored."""

    def __init__(self, errors: Sequence[tuple[int, ValidationFailed | BusinessRuleError]]) -> None:
        super().__init__(f"{len(errors)} invalid result(s)")
        self.errors = list(errors)


class StoreRejected(Exception):
    """The database refused a value that validation let through; nothing was stored.

    `index` and `path` locate the value when known (the item, then keys and list positions).
    """

    def __init__(
        self, message: str, *, index: int | None = None, path: tuple[str | int, ...] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.index = index
        self.path = path


def submit_payloads(
    conn: psycopg.Connection,
    bodies: Sequence[Any],
    *,
    modern: bool,
    commits: CommitResolver,
    surface: str | None,
) -> list[StoredResult]:
    """Validate and store request bodies, all or nothing, in input order.

    A stored submission key decides before validation does (02 §3.1 step 4): the same payload is
    replayed even if a rule added since would refuse it, another payload is a conflict. Raises
    SubmissionConflict (checked first), InvalidItems, or StoreRejected for a value the database
    refuses; item indexes are positions in `bodies`.
    """
    keyed = {i: _submission_key(body) for i, body in enumerate(bodies)} if modern else {}
    keyed = {i: key for i, key in keyed.items() if key is not None}
    hashes = {i: payload_sha256(bodies[i]) for i in keyed}
    inputs: dict[int, ResultInput] = {}
    invalid: list[tuple[int, ValidationFailed | BusinessRuleError]] = []
    for i, body in enumerate(bodies):
        try:
            inputs[i] = _prepare(body, modern, keyed.get(i), hashes.get(i))
        except (ValidationFailed, BusinessRuleError) as exc:
            invalid.append((i, exc))

    # One valid result goes straight to the insert, which fails on a stored key and is then
    # decided like below: new keys, the common case, cost one round trip instead of two.
    optimistic = len(bodies) == 1 and not invalid
    stored = {} if optimistic or not keyed else queries.list_submissions(conn, keyed.values())
    replays: dict[int, StoredResult] = {}
    conflicts = []
    for i, key in keyed.items():
        row = stored.get(key)
        if row is None:
            continue
        if row["submission_payload_sha256"] == hashes[i]:
            replays[i] = _replayed(row)
        else:
            conflicts.append(i)
    if conflicts:
        raise SubmissionConflict(conflicts)
    invalid = [(i, exc) for i, exc in invalid if i not in replays]
    if invalid:
        raise InvalidItems(invalid)
    for i in replays:
        inputs.pop(i, None)

    order = sorted(inputs)
    try:
        new = store_results(
            conn,
            [inputs[i] for i in order],
            commits=commits,
            surface=surface,
            known=stored,
        )
    except SubmissionConflict as exc:
        raise SubmissionConflict([order[j] for j in exc.indexes]) from None
    except StoreRejected as exc:
        if exc.message == BAD_TEXT:
            raise _locate_bad_text(bodies, order) from None
        if exc.index is not None:
            exc.index = order[exc.index]
        raise
    replays.update(zip(order, new, strict=True))
    return [replays[i] for i in range(len(bodies))]


def store_results(
    conn: psycopg.Connection,
    inputs: Sequence[ResultInput],
    *,
    commits: CommitResolver,
    surface: str | None,
    known: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[StoredResult]:
    """Store validated results in one statement and one transaction; returns them in input order.

    A submission key already stored with the same payload hash is replayed (nothing written), with
    another hash it raises SubmissionConflict for those indexes. `known` is the caller's fresh
    lookup of the keys. `surface` labels conbench_results_ingested_total (None: not counted).
    """
    resolved: dict[tuple[str, str], NewCommit] = {}
    for attempt in range(1, MAX_ATTEMPTS + 1):
        keys = {inp.submission_key for inp in inputs if inp.submission_key is not None}
        if known is None or attempt > 1:
            known = queries.list_submissions(conn, keys) if keys else {}
        plan = _Plan.make(inputs, known)
        if plan.conflicts:
            raise SubmissionConflict(plan.conflicts)
        if not plan.new:
            return plan.results()
        batch = _batch(conn, [inputs[i] for i in plan.new], commits, resolved)
        try:
            with _atomic(conn, statements=2 if batch.backfills else 1):
                fingerprints = queries.insert_results(conn, batch)
        except pg_errors.UniqueViolation as exc:
            if exc.diag.constraint_name != SUBMISSION_KEY_INDEX or attempt == MAX_ATTEMPTS:
                raise
            continue  # a concurrent twin stored one of the keys first: decide again
        except pg_errors.DeadlockDetected:
            if attempt == MAX_ATTEMPTS:
                raise
            log.warning("deadlock while storing %d results; retrying", len(plan.new))
            continue
        except pg_errors.CheckViolation as exc:
            raise StoreRejected(_check_message(exc)) from None
        except pg_errors.StringDataRightTruncation as exc:
            raise _too_long(inputs) or StoreRejected(_first_line(exc)) from None
        except pg_errors.NumericValueOutOfRange as exc:
            raise StoreRejected(_first_line(exc)) from None
        except (pg_errors.UntranslatableCharacter, pg_errors.InvalidTextRepresentation):
            raise StoreRejected(BAD_TEXT) from None
        if fingerprints is None:
            if attempt == MAX_ATTEMPTS:
                raise RuntimeError("dimension rows kept losing races; nothing stored")
            continue  # a concurrent request created one of the dimension rows first
        ids = [row["id"] for row in batch.results]
        for i, result_id in zip(plan.new, ids, strict=True):
            plan.stored[i] = StoredResult(result_id, inputs[i].run_id, fingerprints[result_id])
        if surface is not None:
            metrics.RESULTS_INGESTED.labels(surface).inc(len(ids))
        return plan.results()
    raise AssertionError("unreachable")


@dataclass
class _Plan:
    """Which inputs are replays of stored keys, repeats inside the request, or new rows."""

    new: list[int] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)
    stored: dict[int, StoredResult] = field(default_factory=dict)
    repeats: dict[int, int] = field(default_factory=dict)  # index -> index of the first

    @classmethod
    def make(cls, inputs: Sequence[ResultInput], known: Mapping[str, Mapping[str, Any]]) -> _Plan:
        plan = cls()
        first: dict[str, int] = {}
        for i, inp in enumerate(inputs):
            key = inp.submission_key
            if key is None:
                plan.new.append(i)
            elif key in known:
                if known[key]["submission_payload_sha256"] == inp.payload_sha256:
                    plan.stored[i] = _replayed(known[key])
                else:
                    plan.conflicts.append(i)
            elif key in first:
                if inputs[first[key]].payload_sha256 == inp.payload_sha256:
                    plan.repeats[i] = first[key]
                else:
                    plan.conflicts.append(i)
            else:
                first[key] = i
                plan.new.append(i)
        return plan

    def results(self) -> list[StoredResult]:
        for i, j in self.repeats.items():
            original = self.stored[j]
            self.stored[i] = StoredResult(
                original.id, original.run_id, original.history_fingerprint, replayed=True
            )
        return [self.stored[i] for i in sorted(self.stored)]


def _prepare(body: Any, modern: bool, key: str | None, digest: str | None) -> ResultInput:
    """Validate a body; a well-formed key is set aside first so its hash is not computed twice."""
    if key is None:
        return prepare_result(body, modern=modern)
    unkeyed = {k: v for k, v in body.items() if k != "submission_key"}
    prepared = prepare_result(unkeyed, modern=modern)
    return replace(prepared, submission_key=key, payload_sha256=digest)


def _replayed(row: Mapping[str, Any]) -> StoredResult:
    return StoredResult(row["id"], row["run_id"], row["history_fingerprint"], replayed=True)


def _submission_key(body: Any) -> str | None:
    """A well-formed submission key of a raw body, else None (validation reports bad ones)."""
    if not isinstance(body, dict):
        return None
    key = body.get("submission_key")
    if isinstance(key, str) and key.strip() and len(key) <= MAX_KEY_LENGTH:
        return key
    return None


def _batch(
    conn: psycopg.Connection,
    inputs: Sequence[ResultInput],
    commits: CommitResolver,
    resolved: dict[tuple[str, str], NewCommit],
) -> queries.ResultBatch:
    """The statement's parameters; commits a non-offline resolver must decide are looked up
    first, so it is asked only about commits the database does not have."""
    refs = {}
    for inp in inputs:
        if inp.github.commit:
            pair = (inp.github.commit, inp.github.repository)
            refs.setdefault(pair, _commit_ref(inp))
    if not commits.offline:
        missing = [pair for pair in refs if pair not in resolved]
        existing = queries.list_commits(conn, missing)
        absent = [pair for pair in missing if pair not in existing]
        resolved.update(dict.fromkeys(existing, NewCommit()))  # unused: the stored row wins
        resolved.update(zip(absent, _resolve_all(commits, [refs[p] for p in absent]), strict=True))
    batch = queries.ResultBatch()
    for inp in inputs:
        commit_id = None
        if inp.github.commit:
            sha, repository = inp.github.commit, inp.github.repository
            commit_id = batch.commit_id(sha, repository)
            if commit_id is None:
                new = resolved.get((sha, repository)) or commits.resolve(refs[sha, repository])
                commit_id = batch.add_commit(sha, repository, new.columns())
                if new.backfill_branch and new.timestamp:
                    batch.add_backfill(repository, new.backfill_branch, new.timestamp)
        row = _result_row(inp)
        row["case_id"] = batch.add_case(inp.benchmark_name, inp.case_tags)
        row["context_id"] = batch.add_context(inp.context)
        row["info_id"] = batch.add_info(inp.info)
        row["hardware_id"] = _add_hardware(batch, inp.hardware)
        row["commit_id"] = commit_id
        batch.add_result(row)
    return batch


def _resolve_all(commits: CommitResolver, refs: Sequence[CommitRef]) -> list[NewCommit]:
    if isinstance(commits, BatchCommitResolver):
        return commits.resolve_many(refs)
    return [commits.resolve(ref) for ref in refs]


def _commit_ref(inp: ResultInput) -> CommitRef:
    gh = inp.github
    return CommitRef(gh.repository, gh.commit, gh.branch, gh.pr_number, inp.timestamp)


def _atomic(conn: psycopg.Connection, statements: int = 1) -> AbstractContextManager[Any]:
    """The insert is one statement, atomic on its own: an autocommit connection (the server's
    pool) needs no BEGIN and COMMIT round trips. A transaction is needed when a second statement
    goes with it (enqueueing backfill jobs for new default-branch commits), or to make a
    savepoint inside the caller's transaction (tests, seed) so a refused insert cannot abort it."""
    if conn.autocommit and statements == 1:
        return nullcontext()
    return conn.transaction()


def _add_hardware(batch: queries.ResultBatch, hw: Machine | Cluster) -> str:
    if isinstance(hw, Cluster):
        return batch.add_cluster(hw.name, hw.info, hw.optional_info, hw.hash)
    values = [getattr(hw, c) for c in queries.MACHINE_COLUMNS]
    return batch.add_machine(hw.name, values, hw.hash)


def _result_row(inp: ResultInput) -> dict[str, Any]:
    """The result's own columns (queries.RESULT_COLUMNS)."""
    return {
        "run_id": inp.run_id,
        "unit": inp.unit,
        "time_unit": inp.time_unit,
        "batch_id": inp.batch_id,
        "timestamp": inp.timestamp.isoformat(),
        "iterations": inp.iterations,
        **inp.aggregates,
        "error": inp.error,
        "data": inp.data,
        "times": inp.times,
        "validation": inp.validation,
        "optional_benchmark_info": inp.optional_benchmark_info,
        "change_annotations": inp.change_annotations,
        "run_tags": inp.run_tags,
        "run_reason": inp.run_reason,
        "commit_repo_url": inp.github.repository,
        "submission_key": inp.submission_key,
        "submission_payload_sha256": inp.payload_sha256 if inp.submission_key else None,
    }


def _check_message(exc: pg_errors.CheckViolation) -> str:
    """A CHECK of a create_all database (03 §3.6) as the business message clients see."""
    name = exc.diag.constraint_name or ""
    if name.startswith("hardware_"):
        return "machine_info values must be >= 0"
    if name.startswith("benchmark_result_") and "submission" not in name:
        return "aggregate values must be >= 0"
    return _first_line(exc)


# varchar limits of the legacy schema that validation does not know (03 §3.3, §3.4).
_LIMITS = ((("github", "commit"), 50), (("github", "repository"), 300))


def _too_long(inputs: Sequence[ResultInput]) -> StoreRejected | None:
    """The first value longer than its column, named as in the body."""
    for i, inp in enumerate(inputs):
        for path, limit in _LIMITS:
            if len(getattr(inp.github, path[1]) or "") > limit:
                return StoreRejected(f"Longer than maximum length {limit}.", index=i, path=path)
        hardware = "cluster_info" if isinstance(inp.hardware, Cluster) else "machine_info"
        if len(inp.hardware.hash) > 1000:
            return StoreRejected(
                "Too long: the hardware hash (name and counts) exceeds 1000 characters.",
                index=i,
                path=(hardware, "name"),
            )
    return None


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _locate_bad_text(bodies: Sequence[Any], order: Sequence[int]) -> StoreRejected:
    """PostgreSQL stores neither NUL nor lone surrogates; find the first such string (or key)."""
    for i in order:
        path = _bad_text_path(bodies[i], ())
        if path is not None:
            return StoreRejected(BAD_TEXT, index=i, path=path)
    return StoreRejected(BAD_TEXT)


def _bad_text_path(value: Any, path: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
    if isinstance(value, str):
        return path if _bad_string(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if _bad_string(key):
                return (*path, key)
            found = _bad_text_path(item, (*path, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for n, item in enumerate(value):
            found = _bad_text_path(item, (*path, n))
            if found is not None:
                return found
    return None


def _bad_string(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
