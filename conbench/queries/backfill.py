"""Commit maintenance queries (sql/backfill.sql): the backfill queue and unknown-commit repair."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import psycopg

from conbench import sql
from conbench.ids import new_id

_Q = sql.load("backfill")
COMMIT_COLUMNS = (
    "id", "sha", "parent", "repository", "message", "author_name", "author_login",
    "author_avatar", "timestamp", "branch", "fork_point_sha",
)  # fmt: skip


def upsert_backfill_jobs(
    conn: psycopg.Connection, jobs: Sequence[tuple[str, str, datetime]]
) -> dict[str, str]:
    """Enqueue (repository, default branch label, until_ts) jobs, each repository once, sorted
    (two writers then lock open rows in one order); returns {repository: open job id}."""
    rows = conn.execute(
        _Q["upsert_backfill_jobs"],
        {
            "ids": [new_id() for _ in jobs],
            "repositories": [job[0] for job in jobs],
            "branches": [job[1] for job in jobs],
            "until": [job[2] for job in jobs],
        },
    ).fetchall()
    return {row["repository"]: row["id"] for row in rows}


def claim_backfill_job(
    conn: psycopg.Connection, lease_seconds: float, repositories: Sequence[str] | None = None
) -> dict[str, Any] | None:
    """Claim one job for this session (see the query); None when there is nothing to do.
    The row has `locked`: False means another session still holds the job's lock."""
    return conn.execute(
        _Q["update_backfill_job_claimed"],
        {
            "lease_seconds": lease_seconds,
            "repositories": list(repositories) if repositories is not None else None,
        },
    ).fetchone()


def update_backfill_lease(conn: psycopg.Connection, job_id: str, lease_seconds: float) -> bool:
    """Extend a running job's lease; False when the job is no longer running."""
    cur = conn.execute(_Q["update_backfill_lease"], {"id": job_id, "lease_seconds": lease_seconds})
    return cur.rowcount == 1


def get_backfill_since(
    conn: psycopg.Connection, repository: str, branch: str, until_ts: datetime
) -> datetime | None:
    """The newest tracked commit of the default branch before `until_ts`."""
    row = conn.execute(
        _Q["get_backfill_since"],
        {"repository": repository, "branch": branch, "until_ts": until_ts},
    ).fetchone()
    return row["since"] if row else None


def insert_backfill_commits(conn: psycopg.Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert commit rows (COMMIT_COLUMNS) that do not exist yet; returns how many were new."""
    doc = json.dumps([{c: _plain(row.get(c)) for c in COMMIT_COLUMNS} for row in rows])
    return conn.execute(_Q["insert_backfill_commits"], {"commits": doc}).rowcount


def update_backfill_job_done(
    conn: psycopg.Connection, job_id: str, until_ts: datetime, inserted: int
) -> str | None:
    """Finish a running job; its new status (`done`, or `pending` when until_ts was raised)."""
    row = conn.execute(
        _Q["update_backfill_job_done"], {"id": job_id, "until_ts": until_ts, "inserted": inserted}
    ).fetchone()
    return row["status"] if row else None


def update_backfill_job_failed(
    conn: psycopg.Connection, job_id: str, error: str, *, max_attempts: int, retry_seconds: float
) -> int:
    return conn.execute(
        _Q["update_backfill_job_failed"],
        {
            "id": job_id,
            "error": error,
            "max_attempts": max_attempts,
            "retry_seconds": retry_seconds,
        },
    ).rowcount


def update_backfill_job_released(conn: psycopg.Connection, job_id: str) -> int:
    return conn.execute(_Q["update_backfill_job_released"], {"id": job_id}).rowcount


def unlock_backfill_job(conn: psycopg.Connection, job_id: str) -> None:
    conn.execute(_Q["get_backfill_unlock"], {"id": job_id}).fetchone()


def list_backfill_jobs(conn: psycopg.Connection, ids: Sequence[str]) -> list[dict[str, Any]]:
    return conn.execute(_Q["list_backfill_jobs"], {"ids": list(ids)}).fetchall()


def list_unknown_commits(
    conn: psycopg.Connection,
    *,
    limit: int,
    repository: str | None = None,
    after: tuple[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Unknown commit rows {id, sha, repository} in (repository, sha) order after `after`."""
    return conn.execute(
        _Q["list_unknown_commits"],
        {
            "limit": limit,
            "repository": repository,
            "after_repository": after[0] if after else None,
            "after_sha": after[1] if after else None,
        },
    ).fetchall()


def update_repaired_commit(
    conn: psycopg.Connection, commit_id: str, columns: Mapping[str, Any]
) -> bool:
    """Fill an unknown row with GitHub's columns; False when it was no longer unknown."""
    names = ("parent", "message", "author_name", "author_login", "author_avatar", "timestamp")
    params = {name: columns[name] for name in (*names, "branch", "fork_point_sha")}
    return conn.execute(_Q["update_repaired_commit"], {"id": commit_id, **params}).rowcount == 1


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
