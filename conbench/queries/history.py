"""History of a series (04 §9): its default-branch members with the rolling statistics of 04 §5,
and the row that heads a series (name, tags, context, hardware)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from conbench import sql, stats

_Q = sql.load("history")


@dataclass(frozen=True)
class Member:
    """One history point: its row from `list_history_points` (or the series members query) with
    the SVS as a float and its §5 statistics."""

    row: dict[str, Any]
    svs: float
    begins_distribution_change: bool
    stats: stats.PointStats


def list_history_points(conn: psycopg.Connection, fingerprint: str) -> list[dict[str, Any]]:
    """Every member of the series, ordered by commit timestamp, result timestamp, id."""
    return conn.execute(_Q["list_history_points"], {"fingerprint": fingerprint}).fetchall()


def list_series_heads(conn: psycopg.Connection, result_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Name, tags, context, hardware and repository of the series of each result, by result id."""
    if not result_ids:
        return {}
    rows = conn.execute(_Q["list_series_heads"], {"ids": result_ids}).fetchall()
    return {row["id"]: row for row in rows}


def get_series_head(conn: psycopg.Connection, result_id: str) -> dict[str, Any] | None:
    """The head row of one result's series; None for an unknown result."""
    return list_series_heads(conn, [result_id]).get(result_id)


def get_newest_result_id(conn: psycopg.Connection, fingerprint: str) -> str | None:
    """The newest result carrying `fingerprint` (non-errored first); None when there is none."""
    row = conn.execute(
        _Q["get_newest_result_id_of_fingerprint"], {"fingerprint": fingerprint}
    ).fetchone()
    return None if row is None else row["id"]


def begins_distribution_change(value: Any) -> bool:
    """The annotation's truthiness as upstream reads it (Python `bool` of the JSON value)."""
    return bool(value)


def with_statistics(rows: Sequence[dict[str, Any]], *, include_current: bool) -> list[Member]:
    """Rows of one series, sorted oldest first, with their §5 statistics (rows need
    `commit_timestamp`, `result_timestamp`, `svs`, `begins_distribution_change`)."""
    if not rows:
        return []
    svs = [float(row["svs"]) for row in rows]
    begins = [begins_distribution_change(row["begins_distribution_change"]) for row in rows]
    points = [
        stats.Point(row["commit_timestamp"], row["result_timestamp"], value, flag)
        for row, value, flag in zip(rows, svs, begins, strict=True)
    ]
    computed = stats.rolling_stats(points, include_current=include_current)
    return [
        Member(row, value, flag, point_stats)
        for row, value, flag, point_stats in zip(rows, svs, begins, computed, strict=True)
    ]
