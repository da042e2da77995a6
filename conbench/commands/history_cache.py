"""`conbench admin history-cache prune`: bound the size of the history response cache
(docs/history-cache.md).

Deletes the stored bodies that can never be served again (their epoch is behind the fingerprint's)
and, with `--older-than`, those computed long ago, a few hundred rows per transaction. Safe while
the server reads and writes: a deleted row is recomputed by the next request for it. Summary on
stdout (text or JSON), progress on stderr when it is a terminal. Exit 2 on usage errors, 1 on
configuration or database errors.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import psycopg

from conbench import serialize
from conbench.cli import Env
from conbench.commands import jobs
from conbench.commands.jobs import Progress
from conbench.queries import history, lookback

# Rows per DELETE: each row carries a body of up to a few MB in TOAST (hundreds of chunks to
# delete), so batches are smaller than the lookback prune's.
PRUNE_BATCH = 200


@dataclass
class PruneSummary:
    """`stale` and `old` count the rows listed (old: valid but computed before the cutoff);
    `deleted` those deleted (fewer when requests stored fresh bodies meanwhile)."""

    cutoff: str | None = None
    stale: int = 0
    old: int = 0
    deleted: int = 0
    seconds: float = 0.0


def cmd_admin_history_cache_prune(env: Env, args: argparse.Namespace) -> int:
    return jobs.run_prune(env, args, "history-cache prune", "rows", prune)


def prune(
    conn: psycopg.Connection,
    days: float | None = None,
    *,
    batch: int = PRUNE_BATCH,
    progress: Progress = lambda done, total, note: None,
) -> PruneSummary:
    """Delete the stale rows and, with `days`, the rows computed more than `days` days ago
    (database clock): one scan lists them, then at most `batch` keys per statement on an
    autocommit connection, each re-checked (a row stored valid meanwhile is kept)."""
    started = time.perf_counter()
    cutoff = None if days is None else lookback.prune_cutoff(conn, days)
    summary = PruneSummary(cutoff=None if cutoff is None else serialize.rfc3339(cutoff))
    rows = history.list_prunable_history_cache(conn, cutoff)
    summary.stale = sum(stale for _, _, stale in rows)
    summary.old = len(rows) - summary.stale
    for start in range(0, len(rows), batch):
        keys = [(fingerprint, variant) for fingerprint, variant, _ in rows[start : start + batch]]
        summary.deleted += history.delete_prunable_history_cache(conn, keys, cutoff)
        progress(start + len(keys), len(rows), f"{summary.deleted} deleted")
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary
