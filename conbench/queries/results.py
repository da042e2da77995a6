"""Benchmark results: one row with its joins, filtered keyset pages, annotations, deletion."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from conbench import sql
from conbench.ids import id_for_instant

_Q = sql.load("results")


@dataclass(frozen=True)
class ResultFilter:
    """Filters of the result lists (01 §4.1, 02 §4.1); timestamps are naive UTC."""

    run_id: str | None = None
    batch_id: str | None = None
    run_reason: str | None = None
    earliest: datetime | None = None
    latest: datetime | None = None


def get_result(conn: psycopg.Connection, result_id: str) -> dict[str, Any] | None:
    """One result with case, context, info, hardware and commit, in one query; None if unknown."""
    return conn.execute(_Q["get_result"], {"id": result_id}).fetchone()


def list_results(
    conn: psycopg.Connection, filters: ResultFilter, *, cursor: str | None, page_size: int
) -> list[dict[str, Any]]:
    """Up to `page_size` results matching `filters`, id descending, ids below `cursor`.

    Without run_id and batch_id only rows since 2023-06-03 are listed (older ids are not
    time-ordered). Executed unprepared: a generic plan could not pick the index a filter allows.
    """
    params = {
        "run_id": filters.run_id,
        "batch_id": filters.batch_id,
        "run_reason": filters.run_reason,
        "earliest": filters.earliest,
        "earliest_id": id_for_instant(filters.earliest) if filters.earliest else None,
        "latest": filters.latest,
        "cursor": cursor,
        "page_size": page_size,
    }
    scoped = filters.run_id is not None or filters.batch_id is not None
    query = _Q["list_results_scoped" if scoped else "list_results_recent"]
    return conn.execute(query, params, prepare=False).fetchall()


def update_change_annotations(
    conn: psycopg.Connection,
    result_id: str,
    new: dict[str, Any],
    merge: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]],
) -> bool:
    """Merge `new` into the stored annotations with `merge(stored, new)` under a row lock;
    False when the result does not exist (any more)."""
    with conn.transaction():
        row = conn.execute(_Q["get_result_annotations_for_update"], {"id": result_id}).fetchone()
        if row is None:
            return False
        merged = merge(row["change_annotations"] or {}, new)
        conn.execute(
            _Q["update_result_change_annotations"],
            {"id": result_id, "change_annotations": Jsonb(merged)},
        )
    return True


def delete_result(conn: psycopg.Connection, result_id: str) -> bool:
    """Delete one result; False when it did not exist."""
    return conn.execute(_Q["delete_result"], {"id": result_id}).rowcount > 0
