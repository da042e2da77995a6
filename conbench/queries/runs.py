"""Runs: there is no run table; a run is the results sharing a `run_id` (01 §7.6)."""

from __future__ import annotations

from typing import Any

import psycopg

from conbench import sql

_Q = sql.load("runs")


def list_runs_for_commits(
    conn: psycopg.Connection, shas: list[str], *, cursor: str | None, page_size: int
) -> list[dict[str, Any]]:
    """Up to `page_size` runs on commits with these SHAs, run_id ascending after `cursor`; each row
    is the run's representative (lowest-id) result with `hardware` and `commit` objects."""
    params = {"shas": shas, "cursor": cursor, "page_size": page_size}
    return conn.execute(_Q["list_runs_for_commits"], params).fetchall()


def get_run(conn: psycopg.Connection, run_id: str) -> dict[str, Any] | None:
    """The representative result of a run, or None when no result carries that run_id."""
    return conn.execute(_Q["get_run"], {"run_id": run_id}).fetchone()
