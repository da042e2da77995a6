"""Recent runs (02 §5): a bounded walk over the newest results, then exact aggregates per run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from conbench import sql

_Q = sql.load("recent")

SCAN_LIMIT = 50_000


@dataclass(frozen=True)
class RunKey:
    """Where a run sits in the walk: its newest result (a sample of the run) and its timestamp."""

    run_id: str
    result_id: str
    timestamp: datetime


@dataclass(frozen=True)
class Position:
    """Where a page ended: a timestamp and the runs already listed with that newest timestamp."""

    timestamp: datetime
    listed: tuple[str, ...]


def list_recent_run_keys(
    conn: psycopg.Connection,
    *,
    page_size: int,
    repository: str | None = None,
    after: Position | None = None,
    scan_limit: int = SCAN_LIMIT,
) -> list[RunKey]:
    """Up to `page_size` runs after `after` (where a previous page ended), newest first, found
    within `scan_limit` scanned results."""
    params = {
        "after_ts": after.timestamp if after else "infinity",
        "seen": list(after.listed) if after else [],
        "cursor_ts": after.timestamp if after else None,
        "repository": repository,
        "page_size": page_size,
        "scan_limit": scan_limit,
    }
    rows = conn.execute(_Q["list_recent_run_keys"], params).fetchall()
    return [RunKey(row["run_id"], row["id"], row["timestamp"]) for row in rows]


def position_after(keys: list[RunKey], previous: Position | None) -> Position:
    """Where the page of `keys` (not empty) ends; runs sharing the last timestamp are carried
    over from the previous position when a tie spans pages."""
    last = keys[-1].timestamp
    carried = previous.listed if previous and previous.timestamp == last else ()
    return Position(last, carried + tuple(k.run_id for k in keys if k.timestamp == last))


def list_run_summaries(conn: psycopg.Connection, keys: list[RunKey]) -> list[dict[str, Any]]:
    """Counts, first/last timestamps and recent batch ids of each run, with the run metadata,
    hardware and commit of its sample result, in the order given."""
    if not keys:
        return []
    params = {"run_ids": [k.run_id for k in keys], "sample_ids": [k.result_id for k in keys]}
    return conn.execute(_Q["list_run_summaries"], params).fetchall()
