"""Ancestry of a commit (04 §8): upstream's timestamp-based `commit_ancestry_query`, not a DAG walk.

The ancestry is the branch's own commits since the fork point (for a commit off the default
branch), then the default-branch commits up to the fork point, newest first. Lookback
distributions take 100 ancestors, baseline-run searches 20.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from conbench import sql

_Q = sql.load("ancestry")

LOOKBACK_LIMIT = 100
BASELINE_SEARCH_LIMIT = 20

# Why an ancestry cannot be built; legacy clients read these after
# "could not find the baseline commit's ancestry because " (01 §7.6).
BRANCH_NULL = "commit branch is null"
TIMESTAMP_NULL = "commit timestamp is null"
FORK_POINT_SHA_NULL = "commit fork_point_sha is null"
FORK_POINT_MISSING = "the fork point commit isn't in the db"
FORK_POINT_TIMESTAMP_NULL = "fork_point_commit timestamp is null"


@dataclass(frozen=True)
class Ancestor:
    """One commit of an ancestry; `timestamp` is its author timestamp (naive UTC)."""

    id: str
    sha: str
    timestamp: datetime
    on_default_branch: bool


class AncestryUnavailable(Exception):
    """The commit lacks what the ancestry needs; `reason` is one of the strings above."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def on_default_branch(commit: dict[str, Any]) -> bool:
    """Default-branch membership is exactly `sha = fork_point_sha` (03 §2.4)."""
    return commit["fork_point_sha"] is not None and commit["sha"] == commit["fork_point_sha"]


def ancestors(conn: psycopg.Connection, commit: dict[str, Any], *, limit: int) -> list[Ancestor]:
    """Up to `limit` ancestors of `commit` (a commit row, or a commit decoded from JSON), newest
    first; the commit itself is the first when it qualifies. Raises AncestryUnavailable.

    Deviation from upstream: a default-branch commit needs no branch label (locally synthesized
    commits have none)."""
    default = on_default_branch(commit)
    if not default and not commit["branch"]:
        raise AncestryUnavailable(BRANCH_NULL)
    timestamp = _timestamp(commit["timestamp"])
    if timestamp is None:
        raise AncestryUnavailable(TIMESTAMP_NULL)
    if not commit["fork_point_sha"]:
        raise AncestryUnavailable(FORK_POINT_SHA_NULL)
    if default:
        fork_point_timestamp = timestamp
    else:
        fork_point = conn.execute(
            _Q["get_fork_point_commit"],
            {"fork_point_sha": commit["fork_point_sha"], "repository": commit["repository"]},
        ).fetchone()
        if fork_point is None:
            raise AncestryUnavailable(FORK_POINT_MISSING)
        fork_point_timestamp = fork_point["timestamp"]
        if fork_point_timestamp is None:
            raise AncestryUnavailable(FORK_POINT_TIMESTAMP_NULL)
    rows = conn.execute(
        _Q["list_ancestors"],
        {
            "off_default_branch": not default,
            "repository": commit["repository"],
            "branch": commit["branch"],
            "fork_point_sha": commit["fork_point_sha"],
            "timestamp": timestamp,
            "fork_point_timestamp": fork_point_timestamp,
            "limit": limit,
        },
    ).fetchall()
    return [Ancestor(**row) for row in rows]


def _timestamp(value: datetime | str | None) -> datetime | None:
    """Commit rows carry datetimes; commits decoded from `to_jsonb` carry ISO text."""
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return value
