"""Lookback distributions (04 §6 steps 1-4) for many fingerprints at once: one ancestry, one query.

Compare routes, the CI report and alerts score contenders against the distribution of their
fingerprint over the 100 newest ancestors of a baseline commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby
from typing import Any

import psycopg

from conbench import sql, stats
from conbench.queries.ancestry import LOOKBACK_LIMIT, AncestryUnavailable, ancestors

_Q = sql.load("lookback")

Distribution = tuple[float | None, float | None]
"""(dist_mean, dist_std); either is None when undefined."""

NO_DISTRIBUTION: Distribution = (None, None)


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
    try:
        ancestry = ancestors(conn, baseline_commit, limit=LOOKBACK_LIMIT)
    except AncestryUnavailable:
        return found
    commit_ts = {a.id: a.timestamp for a in ancestry}
    rows = conn.execute(
        _Q["list_distribution_rows"], {"commit_ids": list(commit_ts), "fingerprints": wanted}
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
