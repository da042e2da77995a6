"""Writing results: the parameter layout of `insert_results` and the lookups around it.

`ResultBatch` collects results and their dimensions with every distinct dimension key once, so
one statement stores any number of results (sql/ingest.sql).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
import psycopg

from conbench import sql
from conbench.identity import MACHINE_COLUMNS
from conbench.ids import new_id
from conbench.queries.backfill import upsert_backfill_jobs

_Q = sql.load("ingest")

COMMIT_COLUMNS = (
    "parent", "message", "author_name", "author_login", "author_avatar", "timestamp", "branch",
    "fork_point_sha",
)  # fmt: skip
RESULT_COLUMNS = (
    "run_id", "unit", "time_unit", "batch_id", "timestamp", "iterations", "min", "max", "mean",
    "median", "stdev", "q1", "q3", "iqr", "error", "data", "times", "validation",
    "optional_benchmark_info", "change_annotations", "run_tags", "run_reason", "commit_repo_url",
    "submission_key", "submission_payload_sha256",
)  # fmt: skip


def _key(value: Any) -> bytes | str:
    """A key under which equal JSON documents of one batch meet (sorted keys; orjson, or the
    standard library for what orjson refuses). Documents jsonb holds equal but spelled apart
    (`1` and `1.0`) get two keys: the statement then meets them in the unique index."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return _KEY_ENCODER.encode(value)


@dataclass
class _Dimension:
    """Distinct keys of one dimension table, each a row of it under a new (candidate) id."""

    ids: dict[Any, str] = field(default_factory=dict)
    by_key: dict[Any, dict[str, Any]] = field(default_factory=dict)

    def add(self, key: Any, row: dict[str, Any]) -> str:
        candidate = self.ids.get(key)
        if candidate is None:
            candidate = self.ids[key] = new_id()
            self.by_key[key] = {"id": candidate, **row}
        return candidate

    @property
    def rows(self) -> list[dict[str, Any]]:
        """In one order for every request, so two bulk requests that create the same new rows
        insert them in the same order instead of deadlocking."""
        if len(self.by_key) == 1:
            return list(self.by_key.values())
        return [self.by_key[k] for k in sorted(self.by_key, key=repr)]


@dataclass
class ResultBatch:
    """Results to insert in one statement. `add_*` return the candidate id a result refers to;
    the statement swaps it for the id of the row found or created."""

    cases: _Dimension = field(default_factory=_Dimension)
    contexts: _Dimension = field(default_factory=_Dimension)
    infos: _Dimension = field(default_factory=_Dimension)
    hardware: _Dimension = field(default_factory=_Dimension)
    commits: _Dimension = field(default_factory=_Dimension)
    results: list[dict[str, Any]] = field(default_factory=list)
    backfills: dict[str, tuple[str, datetime]] = field(default_factory=dict)

    def add_case(self, name: str, tags: dict[str, str]) -> str:
        """Case tags are flat str -> str (01 §5.3), so a sorted tuple is an exact key."""
        key = (name, tuple(sorted(tags.items())))
        return self.cases.add(key, {"name": name, "tags": tags})

    def add_context(self, tags: dict[str, Any]) -> str:
        return self.contexts.add(_key(tags), {"tags": tags})

    def add_info(self, tags: dict[str, Any]) -> str:
        return self.infos.add(_key(tags), {"tags": tags})

    def add_machine(self, name: str, values: Sequence[Any], hash: str) -> str:
        """A machine by its 16 identifying columns: `name`, then MACHINE_COLUMNS in order
        (missing ones None, `gpu_product_names` a list)."""
        key = ("machine", name, *values[:-1], tuple(values[-1] or ()))
        if key in self.hardware.ids:
            return self.hardware.ids[key]
        row = dict(zip(MACHINE_COLUMNS, values, strict=True))
        return self.hardware.add(key, {"type": "machine", "name": name, **row, "hash": hash})

    def add_cluster(
        self, name: str, info: dict[str, Any], optional_info: dict[str, Any], hash: str
    ) -> str:
        key = ("cluster", name, _key(info), _key(optional_info))
        row = {"type": "cluster", "name": name, "info": info, "optional_info": optional_info}
        return self.hardware.add(key, {**row, "hash": hash})

    def commit_id(self, sha: str, repository: str) -> str | None:
        """The candidate id of a commit already in the batch."""
        return self.commits.ids.get((sha, repository))

    def add_commit(self, sha: str, repository: str, columns: dict[str, Any]) -> str:
        """The commit row stored if (sha, repository) does not exist yet; the first one wins."""
        row = {"sha": sha, "repository": repository}
        row.update((c, columns.get(c)) for c in COMMIT_COLUMNS)
        return self.commits.add((sha, repository), row)

    def add_backfill(self, repository: str, default_branch: str, until_ts: datetime) -> None:
        """Enqueue the default-branch backfill of a new commit's repository with the insert
        (05 §5); one job per repository, up to its newest commit."""
        known = self.backfills.get(repository)
        if known is None or until_ts > known[1]:
            self.backfills[repository] = (default_branch, until_ts)

    def add_result(self, row: dict[str, Any]) -> str:
        """Queue one result: its RESULT_COLUMNS (absent ones are NULL) and the candidate ids of
        its dimensions (`case_id` ... `commit_id`); returns its new id."""
        row["id"] = new_id()
        self.results.append(row)
        return row["id"]


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


# Encoders built once: json.dumps with options builds a new one on every call.
_KEY_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"))
_ENCODER = json.JSONEncoder(default=_json_default, allow_nan=False, separators=(",", ":"))
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME


def _json(value: Any) -> str:
    """The JSON text of a parameter document, by orjson (~5x faster); what orjson refuses
    (integers beyond 64 bits, lone surrogates, non-str keys) by the standard library, as before.
    orjson would write a non-finite float as null where the standard library raised: validation
    refuses them wherever they could come from (numbers, aggregates, stored documents)."""
    try:
        return orjson.dumps(value, default=_json_default, option=_ORJSON_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return _ENCODER.encode(value)


def _compact(query: str) -> str:
    """psycopg caches the parsing of a statement only up to 4096 characters: the indentation of
    the file would push the long ones over and cost ~0.1 ms of client CPU on every execution."""
    return " ".join(query.split())


_INSERT_RESULTS = _compact(_Q["insert_results"])
_INSERT_RESULT_FOUND = _compact(_Q["insert_result_found"])
_INSERT_RESULT_KNOWN = _compact(_Q["insert_result_known"])
_INSERT_RESULT_KNOWN_DETAIL = _compact(_Q["insert_result_known_detail"])


def insert_results(conn: psycopg.Connection, batch: ResultBatch) -> dict[str, str] | None:
    """Store the batch in one statement; returns {result id: history_fingerprint}, or None when
    a dimension row lost a race and nothing was inserted (run it again: it is then found).
    Backfill jobs of the batch are enqueued next; the caller holds both in one transaction."""
    rows = conn.execute(
        _INSERT_RESULTS,
        {
            "cases": _json(batch.cases.rows),
            "contexts": _json(batch.contexts.rows),
            "infos": _json(batch.infos.rows),
            "hardware": _json(batch.hardware.rows),
            "commits": _json(batch.commits.rows),
            "results": _json(batch.results),
        },
    ).fetchall()
    if batch.backfills:
        upsert_backfill_jobs(conn, [(r, *job) for r, job in sorted(batch.backfills.items())])
    if len(rows) != len(batch.results):
        return None
    return {row["id"]: row["history_fingerprint"] for row in rows}


@dataclass(frozen=True)
class FoundResult:
    """One result whose dimensions are named by their keys (`insert_result_found`): the row of
    its own columns with its new `id`, and the dimension rows as `ResultBatch` stores them."""

    row: dict[str, Any]
    case_name: str
    case_tags: dict[str, str]
    context: dict[str, Any]
    info: dict[str, Any]
    hardware: dict[str, Any]
    sha: str | None
    repository: str


def found_params(result: FoundResult) -> dict[str, Any]:
    """The parameters of `insert_result_found` (and, with the dimension ids added, of
    `insert_result_known`)."""
    return {
        "result": _json(result.row),
        "case_id": new_id(),
        "case_name": result.case_name,
        "case_tags": _json(result.case_tags),
        "context": _json(result.context),
        "info": _json(result.info),
        "hardware": _json(result.hardware),
        "sha": result.sha,
        "repository": result.repository,
    }


def insert_result_found(conn: psycopg.Connection, params: dict[str, Any]) -> dict[str, Any] | None:
    """Store one result if all its dimension rows exist but perhaps its case, which is then
    created; None (nothing stored) when another one is missing. `params` from `found_params`.
    Returns the row `results.get_result` reads (the ids and documents the cache keeps)."""
    return conn.execute(_INSERT_RESULT_FOUND, params).fetchone()


def insert_result_known(
    conn: psycopg.Connection,
    params: dict[str, Any],
    ids: dict[str, str | None],
    *,
    detail: bool = False,
) -> dict[str, Any] | None:
    """Store one result under known dimension ids ({context_id, info_id, hardware_id, commit_id,
    hardware_hash}), finding or creating its case; raises ForeignKeyViolation (nothing stored)
    when one of those rows is gone, returns None (nothing stored) when the case insert lost a
    race. Returns {id, history_fingerprint}, or with `detail` the `results.get_result` row but
    for context_tags, info_tags and hardware (`ingest_cache.Known.complete` adds them)."""
    query = _INSERT_RESULT_KNOWN_DETAIL if detail else _INSERT_RESULT_KNOWN
    known = {
        "result": params["result"],
        "case_id": params["case_id"],
        "case_name": params["case_name"],
        "case_tags": params["case_tags"],
        **ids,
    }
    return conn.execute(query, known).fetchone()


def list_submissions(conn: psycopg.Connection, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Stored results by submission key: {key: {submission_payload_sha256, id, run_id,
    history_fingerprint}}."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = conn.execute(_Q["list_submissions"], {"keys": wanted}).fetchall()
    return {row["submission_key"]: row for row in rows}


def list_commits(
    conn: psycopg.Connection, pairs: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """Ids of the existing commits among (sha, repository) pairs."""
    if not pairs:
        return {}
    rows = conn.execute(
        _Q["list_commits"],
        {"shas": [sha for sha, _ in pairs], "repositories": [repo for _, repo in pairs]},
    ).fetchall()
    return {(row["sha"], row["repository"]): row["id"] for row in rows}


def exists_result(conn: psycopg.Connection) -> bool:
    """Whether any result is stored."""
    row = conn.execute(_Q["exists_result"]).fetchone()
    return bool(row and row["value"])


def lock_seed(conn: psycopg.Connection) -> None:
    """Hold the seed lock until the current transaction ends."""
    conn.execute(_Q["get_seed_lock"]).fetchone()
