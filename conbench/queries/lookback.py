"""Lookback distributions (04 §6 steps 1-4) for many fingerprints at once: one ancestry, one query.

Compare routes, the CI report and alerts score contenders against the distribution of their
fingerprint over the 100 newest ancestors of a baseline commit. Computed distributions are kept in
`lookback_distribution` (migration 6), which triggers on benchmark_result and commit keep exact;
docs/lookback-cache.md explains why a stored row is never stale.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from conbench import sql, stats
from conbench.queries.ancestry import (
    LOOKBACK_LIMIT,
    Ancestor,
    AncestryUnavailable,
    ancestors,
    on_default_branch,
)

log = logging.getLogger(__name__)

_Q = sql.load("lookback")

Distribution = tuple[float | None, float | None]
"""(dist_mean, dist_std); either is None when undefined."""

NO_DISTRIBUTION: Distribution = (None, None)

# The commit columns an ancestry reads (04 §8), besides id: a cached row is used, and a computed
# one stored, only when the caller's copy of the baseline commit agrees with the database on them.
_ANCESTRY_COLUMNS = ("sha", "repository", "timestamp", "branch", "fork_point_sha")


def lookback_for(
    conn: psycopg.Connection, baseline_commit: dict[str, Any] | None, fingerprints: Iterable[str]
) -> dict[str, Distribution]:
    """Per fingerprint the lookback distribution at `baseline_commit` (a commit row or its JSON
    object); NO_DISTRIBUTION for a fingerprint without rows, and for every fingerprint when there
    is no baseline commit or its ancestry cannot be built."""
    wanted = sorted(set(fingerprints))
    found = dict.fromkeys(wanted, NO_DISTRIBUTION)
    if baseline_commit is None or not wanted:
        return found
    commit = _commit_key(baseline_commit)
    missing = wanted
    if commit is not None:
        cached: set[str] = set()
        for fingerprint, dist_mean, dist_std in _cached(conn, commit, wanted):
            if fingerprint in found:
                found[fingerprint] = (dist_mean, dist_std)
                cached.add(fingerprint)
        missing = [fp for fp in wanted if fp not in cached]
        if not missing:
            return found
    # Epochs first: whatever a writer commits from here on bumps one and so keeps this request
    # from storing what it computes.
    state = _cache_state(conn, commit, missing) if commit is not None else None
    try:
        ancestry = ancestors(conn, baseline_commit, limit=LOOKBACK_LIMIT)
    except AncestryUnavailable:
        return found
    computed = _compute(conn, ancestry, missing)
    found.update(computed)
    if state is not None and commit is not None and ancestry:
        _store(conn, commit, state, ancestry, computed)
    return found


# From this many fingerprints on, the stored rows are read by baseline commit alone and filtered
# here: a parameter of thousands of fingerprints costs more to send (quoted one by one) and to
# plan (the planner estimates each element) than the index range of the commit's rows costs to
# read (4,500 fingerprints: 15 ms against 2 ms). Fewer are looked up one by one.
COMMIT_WIDE_READ = 500


def _cached(
    conn: psycopg.Connection, commit: dict[str, Any], wanted: list[str]
) -> list[tuple[str, float | None, float | None]]:
    """(fingerprint, dist_mean, dist_std) of stored distributions at the baseline commit: of the
    `wanted` fingerprints, or of every fingerprint when they are many (the caller filters)."""
    if len(wanted) >= COMMIT_WIDE_READ:
        cursor = conn.execute(_Q["list_commit_distributions"], commit, binary=True)
    else:
        params = {**commit, "fingerprints": wanted}
        cursor = conn.execute(_Q["list_cached_distributions"], params, binary=True)
    cursor.row_factory = tuple_row
    return cursor.fetchall()


def _compute(
    conn: psycopg.Connection, ancestry: list[Ancestor], fingerprints: list[str]
) -> dict[str, Distribution]:
    """The distributions of `fingerprints` over `ancestry`, from the result rows (04 §6 3-4)."""
    found = dict.fromkeys(fingerprints, NO_DISTRIBUTION)
    commit_ts = {a.id: a.timestamp for a in ancestry}
    rows = conn.execute(
        _Q["list_distribution_rows"], {"commit_ids": list(commit_ts), "fingerprints": fingerprints}
    )
    for fingerprint, group in groupby(rows, key=lambda row: row["history_fingerprint"]):
        points = [
            stats.Point(
                commit_ts=commit_ts[row["commit_id"]],
                result_ts=row["result_ts"],
                svs=row["svs"],
                begins_distribution_change=row["begins_distribution_change"],
            )
            for row in group
        ]
        found[fingerprint] = stats.distribution(points)
    return found


def _commit_key(commit: dict[str, Any]) -> dict[str, Any] | None:
    """The caller's baseline commit as query parameters (id and ancestry columns, the timestamp
    as a datetime), or None when it cannot name a cached row."""
    if not commit.get("id") or not commit.get("timestamp"):
        return None
    key = {column: commit.get(column) for column in _ANCESTRY_COLUMNS}
    if isinstance(key["timestamp"], str):
        key["timestamp"] = datetime.fromisoformat(key["timestamp"])
    key["commit_id"] = commit["id"]
    return key


@dataclass(frozen=True)
class _CacheState:
    """What get_cache_state read before anything was computed."""

    repository_key: str
    fork_point_ts: datetime | None
    epochs: dict[str, int]
    absent: list[str]


def _cache_state(
    conn: psycopg.Connection, commit: dict[str, Any], fingerprints: list[str]
) -> _CacheState | None:
    """The epochs of `fingerprints` and of the repository, or None when nothing can be stored:
    the commit row is gone or differs from the caller's copy."""
    repository_key = f"repo:{commit['repository']}"
    keys = [*fingerprints, repository_key]
    row = conn.execute(
        _Q["get_cache_state"], {"commit_id": commit["commit_id"], "keys": keys}
    ).fetchone()
    if row is None or any(row[c] != commit[c] for c in _ANCESTRY_COLUMNS):
        return None
    epochs = dict(zip(row["keys"] or [], row["epochs"] or [], strict=True))
    return _CacheState(
        repository_key=repository_key,
        fork_point_ts=row["fork_point_ts"],
        epochs=epochs,
        absent=[key for key in keys if key not in epochs],
    )


def _store(
    conn: psycopg.Connection,
    commit: dict[str, Any],
    state: _CacheState,
    ancestry: list[Ancestor],
    computed: dict[str, Distribution],
) -> None:
    """Store what was computed (entries whose epochs are unchanged) and create absent epoch rows;
    never fails the request: a database error here is logged and the request goes on."""
    default = on_default_branch(commit)
    if not default and state.fork_point_ts is None:
        return
    fingerprints = [fp for fp in computed if fp in state.epochs]
    window_max = commit["timestamp"] if default else max(commit["timestamp"], state.fork_point_ts)
    try:
        if fingerprints and state.repository_key in state.epochs:
            keys = [*fingerprints, state.repository_key]
            with conn.transaction():
                conn.execute(
                    _Q["insert_distributions"],
                    {
                        "keys": keys,
                        "epochs": [state.epochs[key] for key in keys],
                        "repository_key": state.repository_key,
                        "commit_id": commit["commit_id"],
                        "repository": commit["repository"],
                        "on_default_branch": default,
                        "full_window": len(ancestry) >= LOOKBACK_LIMIT,
                        "window_min_ts": min(a.timestamp for a in ancestry),
                        "window_max_ts": window_max,
                        "fingerprints": fingerprints,
                        "means": [computed[fp][0] for fp in fingerprints],
                        "stds": [computed[fp][1] for fp in fingerprints],
                    },
                )
        if state.absent:
            with conn.transaction():
                conn.execute(_Q["insert_missing_epochs"], {"keys": state.absent})
    except psycopg.Error as exc:
        log.warning("lookback cache not stored: %s", str(exc).splitlines()[0] if str(exc) else exc)


# Operator jobs (`conbench admin lookback warm|prune`, scripts/bench/dataset.py).


def exists_repository(conn: psycopg.Connection, repository: str) -> bool:
    """Whether any commit row belongs to `repository`."""
    return bool(
        conn.execute(_Q["exists_repository"], {"repository": repository}).fetchone()["found"]
    )


def list_warm_commits(
    conn: psycopg.Connection, *, commits: int, repository: str | None = None
) -> list[dict[str, Any]]:
    """The commit rows `warm` fills: the `commits` newest default-branch commits of each
    repository (or of `repository`) and the fork points of branch commits at least as new."""
    params = {"commits": commits, "repository": repository}
    return conn.execute(_Q["list_warm_commits"], params).fetchall()


def list_commit_fingerprints(conn: psycopg.Connection, commit_id: str) -> list[str]:
    """The fingerprints with results on one commit, sorted."""
    rows = conn.execute(_Q["list_commit_fingerprints"], {"commit_id": commit_id})
    return [row["history_fingerprint"] for row in rows.fetchall()]


def count_stored_distributions(
    conn: psycopg.Connection, commit_id: str, fingerprints: list[str]
) -> int:
    """How many of `fingerprints` have a stored distribution at `commit_id`."""
    params = {"commit_id": commit_id, "fingerprints": fingerprints}
    return int(conn.execute(_Q["count_stored_distributions"], params).fetchone()["stored"])


def create_epochs(conn: psycopg.Connection, repository: str, fingerprints: list[str]) -> None:
    """Epoch rows for the fingerprints and the repository where there are none (data loaded with
    triggers disabled), so that a following lookback_for stores what it computes at once; gives
    up quietly when a writer holds one of the keys for more than 100 ms."""
    keys = [*fingerprints, f"repo:{repository}"]
    try:
        with conn.transaction():
            conn.execute(_Q["insert_missing_epochs"], {"keys": keys})
    except psycopg.errors.LockNotAvailable:
        pass


def prune_cutoff(conn: psycopg.Connection, days: float) -> datetime:
    """The database's UTC time `days` days ago, comparable with `computed_at`."""
    return conn.execute(_Q["get_prune_cutoff"], {"days": days}).fetchone()["cutoff"]


def list_prunable_commits(conn: psycopg.Connection, cutoff: datetime) -> list[tuple[str, int]]:
    """(commit_id, rows computed before `cutoff`) per baseline commit, by commit_id."""
    rows = conn.execute(_Q["list_prunable_commits"], {"cutoff": cutoff}).fetchall()
    return [(row["commit_id"], row["old_rows"]) for row in rows]


def delete_old_distributions(
    conn: psycopg.Connection, commit_id: str, cutoff: datetime, limit: int
) -> int:
    """Delete at most `limit` rows of `commit_id` computed before `cutoff`; the count deleted."""
    params = {"commit_id": commit_id, "cutoff": cutoff, "limit": limit}
    return conn.execute(_Q["delete_old_distributions"], params).rowcount


def reset_after_bulk_load(conn: psycopg.Connection) -> None:
    """After a load that bypassed the triggers: epoch rows for the data as migration 6 creates
    them, and no stored distribution (any could be stale)."""
    conn.execute(_Q["insert_current_epochs"])
    conn.execute(_Q["delete_all_distributions"])
