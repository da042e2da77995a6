"""Storing results: idempotent submission (02 §3.1), commit resolution and one set-based insert.

Both API surfaces, the bulk form, the seed data and the CLI's server all end in `store_results`:
every result of a call is stored by one statement, or none is. The pieces live beside this
module: commits and their resolvers (`ingest_commits`), submission keys (`ingest_keys`), the
statements' parameters (`ingest_rows`) and the errors (`ingest_errors`); their public names are
importable from here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from conbench import metrics
from conbench.canonical import payload_sha256
from conbench.ingest_cache import DIMENSIONS
from conbench.ingest_commits import (
    BatchCommitResolver,
    CommitRef,
    CommitResolver,
    LocalCommitMap,
    NewCommit,
    UnknownCommitResolver,
    commit_resolver_for,
)
from conbench.ingest_errors import (
    BAD_TEXT,
    CONFLICT_MESSAGE,
    InvalidItems,
    StoreRejected,
    SubmissionConflict,
    check_message,
    first_line,
    locate_bad_text,
    too_long,
)
from conbench.ingest_keys import (
    MAX_KEY_LENGTH,
    StoredResult,
    SubmissionPlan,
    replayed,
    submission_key,
)
from conbench.ingest_rows import build_batch, found_result
from conbench.queries import ingest as queries
from conbench.validation import BusinessRuleError, ResultInput, ValidationFailed, prepare_result

__all__ = [
    "BAD_TEXT",
    "CONFLICT_MESSAGE",
    "MAX_ATTEMPTS",
    "MAX_KEY_LENGTH",
    "SUBMISSION_KEY_INDEX",
    "BatchCommitResolver",
    "CommitRef",
    "CommitResolver",
    "InvalidItems",
    "LocalCommitMap",
    "NewCommit",
    "StoreRejected",
    "StoredResult",
    "SubmissionConflict",
    "UnknownCommitResolver",
    "commit_resolver_for",
    "store_results",
    "submit_payloads",
]

log = logging.getLogger(__name__)

SUBMISSION_KEY_INDEX = "benchmark_result_submission_key_index"
# A race on a submission key re-reads and decides again; a deadlock between two bulk requests
# that create the same new dimension rows in a different order is retried as a whole.
MAX_ATTEMPTS = 3


def submit_payloads(
    conn: psycopg.Connection,
    bodies: Sequence[Any],
    *,
    modern: bool,
    commits: CommitResolver,
    surface: str | None,
    detail: bool = False,
) -> list[StoredResult]:
    """Validate and store request bodies, all or nothing, in input order.

    A stored submission key decides before validation does (02 §3.1 step 4): the same payload is
    replayed even if a rule added since would refuse it, another payload is a conflict. Raises
    SubmissionConflict (checked first), InvalidItems, or StoreRejected for a value the database
    refuses; item indexes are positions in `bodies`.
    """
    keyed = {i: submission_key(body) for i, body in enumerate(bodies)} if modern else {}
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
            replays[i] = replayed(row)
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
            detail=detail,
        )
    except SubmissionConflict as exc:
        raise SubmissionConflict([order[j] for j in exc.indexes]) from None
    except StoreRejected as exc:
        if exc.message == BAD_TEXT:
            raise locate_bad_text(bodies, order) from None
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
    detail: bool = False,
) -> list[StoredResult]:
    """Store validated results in one statement and one transaction; returns them in input order.

    A submission key already stored with the same payload hash is replayed (nothing written), with
    another hash it raises SubmissionConflict for those indexes. `known` is the caller's fresh
    lookup of the keys. `surface` labels conbench_results_ingested_total (None: not counted).
    `detail` asks for each new result's `results.get_result` row where the insert can return it
    (StoredResult.row; None otherwise).
    """
    resolved: dict[tuple[str, str], NewCommit] = {}
    for attempt in range(1, MAX_ATTEMPTS + 1):
        keys = {inp.submission_key for inp in inputs if inp.submission_key is not None}
        if known is None or attempt > 1:
            known = queries.list_submissions(conn, keys) if keys else {}
        plan = SubmissionPlan.make(inputs, known)
        if plan.conflicts:
            raise SubmissionConflict(plan.conflicts)
        if not plan.new:
            return plan.results()
        new = [inputs[i] for i in plan.new]
        try:
            stored = _insert(conn, new, commits, resolved, detail=detail)
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
            raise StoreRejected(check_message(exc)) from None
        except pg_errors.StringDataRightTruncation as exc:
            raise too_long(inputs) or StoreRejected(first_line(exc)) from None
        except pg_errors.NumericValueOutOfRange as exc:
            raise StoreRejected(first_line(exc)) from None
        except (pg_errors.UntranslatableCharacter, pg_errors.InvalidTextRepresentation):
            raise StoreRejected(BAD_TEXT) from None
        if stored is None:
            if attempt == MAX_ATTEMPTS:
                raise RuntimeError("dimension rows kept losing races; nothing stored")
            continue  # a concurrent request created one of the dimension rows first
        plan.stored.update(zip(plan.new, stored, strict=True))
        if surface is not None:
            metrics.RESULTS_INGESTED.labels(surface).inc(len(stored))
        return plan.results()
    raise AssertionError("unreachable")


def _insert(
    conn: psycopg.Connection,
    inputs: Sequence[ResultInput],
    commits: CommitResolver,
    resolved: dict[tuple[str, str], NewCommit],
    *,
    detail: bool,
) -> list[StoredResult] | None:
    """Insert new results; None when a dimension row lost a race (nothing stored).

    A single result whose context, info, hardware and commit ids this process knows is stored by
    an insert that only finds (or creates) its case (`conbench.ingest_cache`). Else it tries the
    statement that finds its dimension rows (a run's commit, machine, context and info usually
    came with its first result); when one is missing, or for several results, the statement that
    also creates them runs.
    """
    if len(inputs) == 1:
        inp = inputs[0]
        params = queries.found_params(found_result(inp))
        keys = DIMENSIONS.keys(params)
        known = DIMENSIONS.lookup(keys)
        if known is not None:
            try:
                with _atomic(conn):
                    row = queries.insert_result_known(conn, params, known.params(), detail=detail)
            except pg_errors.ForeignKeyViolation:
                DIMENSIONS.forget(keys)  # a dimension row was deleted: look them up again
            else:
                if row is None:
                    return None  # its case was created concurrently: run again, it is found
                if detail:
                    row = known.complete(row)
                return [StoredResult(row["id"], inp.run_id, row["history_fingerprint"], row=row)]
        with _atomic(conn):
            row = queries.insert_result_found(conn, params)
        if row is not None:
            DIMENSIONS.remember(keys, row)
            return [StoredResult(row["id"], inp.run_id, row["history_fingerprint"], row=row)]
    batch = build_batch(conn, inputs, commits, resolved)
    with _atomic(conn, statements=2 if batch.backfills else 1):
        fingerprints = queries.insert_results(conn, batch)
    if fingerprints is None:
        return None
    return [
        StoredResult(row["id"], inp.run_id, fingerprints[row["id"]])
        for inp, row in zip(inputs, batch.results, strict=True)
    ]


def _prepare(body: Any, modern: bool, key: str | None, digest: str | None) -> ResultInput:
    """Validate a body; the hash of a well-formed key's payload is not computed twice."""
    return prepare_result(body, modern=modern, digest=digest if key is not None else None)


def _atomic(conn: psycopg.Connection, statements: int = 1) -> AbstractContextManager[Any]:
    """The insert is one statement, atomic on its own: an autocommit connection (the server's
    pool) needs no BEGIN and COMMIT round trips. A transaction is needed when a second statement
    goes with it (enqueueing backfill jobs for new default-branch commits), or to make a
    savepoint inside the caller's transaction (tests, seed) so a refused insert cannot abort it."""
    if conn.autocommit and statements == 1:
        return nullcontext()
    return conn.transaction()
