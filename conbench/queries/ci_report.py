"""Rows of the CI report (02 §9): the selected runs, their results, the baseline runs' results."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from conbench import sql

_Q = sql.load("ci_report")


def list_commit_runs(conn: psycopg.Connection, repository: str, sha: str) -> list[dict[str, Any]]:
    """The runs with results on commit (repository, sha), run_id ascending; each row has
    `run_id, result_count, run_reason, run_tags, commit_repo_url, commit`."""
    params = {"repository": repository, "sha": sha}
    return conn.execute(_Q["list_commit_runs"], params).fetchall()


def list_run_groups(
    conn: psycopg.Connection, run_ids: Sequence[str], repository: str | None = None
) -> list[dict[str, Any]]:
    """The given runs, one row per (repository, commit) their results name, shaped as
    `list_commit_runs` rows (`commit` None when commitless)."""
    params = {"run_ids": list(run_ids), "repository": repository}
    return conn.execute(_Q["list_run_groups"], params).fetchall()


ContenderRow = tuple[Any, ...]
"""A `list_contender_results` row: (id, run_id, timestamp, unit, summarizable, min, max, error,
history_fingerprint, case_id, context_id, info_id, hardware_id, begins_distribution_change,
data); `summarizable` is whether the data is present, not empty and without NULL, `data` the
repetitions only when min or max is missing (else None)."""

BaselineRow = tuple[Any, ...]
"""A `list_baseline_results` row: (id, run_id, timestamp, unit, summarizable, min, max, error,
history_fingerprint, commit_sha, commit_timestamp, data), summed up as a ContenderRow."""

Entities = dict[str, dict[str, Any]]
"""Rows' entities by kind (`case_name`, `case`, `context`, `info`, `hardware`), then id."""


def list_contender_results(
    conn: psycopg.Connection, run_ids: Sequence[str], commit_id: str | None
) -> list[ContenderRow]:
    """Every result of these runs (on `commit_id` when given), by run then id, as tuples: the
    columns a row is scored on, entity ids, and whether it begins a distribution change. Sorted
    here: result ids are hex (03 §1.2), so code point order is the database's order."""
    params = {"run_ids": list(run_ids), "commit_id": commit_id}
    rows = _tuples(conn, _Q["list_contender_results"], params)
    rows.sort(key=_RUN_AND_ID)
    return rows


_RUN_AND_ID = itemgetter(1, 0)


def get_result_entities(conn: psycopg.Connection, rows: Sequence[ContenderRow]) -> Entities:
    """The case, context, info and hardware rows the given contender rows name, keyed by kind,
    then id: cases their name (`case_name`) and their tags (`case`), contexts and infos their
    tags, hardware `{id, type, name, hash}`."""
    params = {
        f"{kind}_ids": text_array(sorted({row[column] for row in rows}))
        for kind, column in (("case", 9), ("context", 10), ("info", 11), ("hardware", 12))
    }
    found = conn.execute(_Q["get_result_entities"], params, prepare=False).fetchone()
    return found["entities"]


def list_baseline_results(
    conn: psycopg.Connection, run_ids: Sequence[str], fingerprints: Iterable[str]
) -> list[BaselineRow]:
    """The newest result (timestamp, then id) per (baseline run, fingerprint) among these
    fingerprints, as tuples."""
    wanted = set(fingerprints)
    if not run_ids or not wanted:
        return []
    newest: dict[tuple[str, str], BaselineRow] = {}
    for row in _tuples(conn, _Q["list_baseline_results"], {"run_ids": list(run_ids)}):
        if row[8] in wanted:
            key = (row[1], row[8])
            kept = newest.get(key)
            if kept is None or (row[2], row[0]) > (kept[2], kept[0]):
                newest[key] = row
    return list(newest.values())


_HEX_LIST = re.compile(r"[0-9a-f]+(?:,[0-9a-f]+)*")


def text_array(values: list[str]) -> str | list[str]:
    """A `%(name)s::text[]` parameter of thousands of values. Hex values (ids, fingerprints)
    become one array literal: psycopg quotes a list element by element (5 ms for 4,500), while
    hex needs no quoting (and is never the NULL keyword). Anything else stays a list."""
    literal = ",".join(values)
    if not values or (
        # As many commas as separators: no value holds one, so the pattern sees each value.
        literal.count(",") == len(values) - 1 and _HEX_LIST.fullmatch(literal)
    ):
        return "{" + literal + "}"
    return values


def _tuples(conn: psycopg.Connection, query: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """All rows as tuples, in binary format: thousands of rows, decoded without building a dict
    per row or parsing timestamps and float arrays from text."""
    cursor = conn.execute(query, params, binary=True)
    cursor.row_factory = tuple_row
    return cursor.fetchall()
