"""`conbench admin lookback warm|prune`: fill the lookback distribution cache before requests ask,
and bound its size (docs/lookback-cache.md).

`warm` stores through `lookback_for` itself, so what it stores is what a request would; `prune`
deletes old rows in short batches. Both are safe while the server reads and writes. Summaries go to
stdout (text or JSON), progress to stderr when it is a terminal. Exit 2 on usage errors, 1 on
configuration or database errors.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import psycopg

from conbench import serialize
from conbench.cli import Env, UsageError
from conbench.commands import jobs
from conbench.commands.jobs import Progress
from conbench.enrichment import normalize_repository
from conbench.queries import lookback

MAX_COMMITS = 2**31 - 1
WARM_BATCH = 1000  # fingerprints per lookback_for call: bounds memory and statement time
PRUNE_BATCH = 5000  # rows per DELETE


@dataclass
class WarmSummary:
    """`fingerprints` counts (commit, fingerprint) pairs: the distributions asked for."""

    repositories: int = 0
    commits: int = 0
    fingerprints: int = 0
    stored: int = 0
    already_stored: int = 0
    not_stored: int = 0
    seconds: float = 0.0


@dataclass
class PruneSummary:
    cutoff: str | None = None
    commits: int = 0
    deleted: int = 0
    seconds: float = 0.0


def cmd_admin_lookback_warm(env: Env, args: argparse.Namespace) -> int:
    try:
        repository = _repository(args.repository)
        if args.commits > MAX_COMMITS:
            raise UsageError(f"--commits must be at most {MAX_COMMITS}")
    except UsageError as exc:
        print(f"usage error: {exc}", file=sys.stderr)
        return 2

    def work(conn: psycopg.Connection) -> WarmSummary | int:
        if repository is not None and not lookback.exists_repository(conn, repository):
            print(f"usage error: --repository: no commit of {repository}", file=sys.stderr)
            return 2
        return warm(
            conn,
            commits=args.commits,
            repository=repository,
            progress=jobs.progress("lookback warm", "commits"),
        )

    return jobs.run_job(env, args, "lookback warm", work)


def cmd_admin_lookback_prune(env: Env, args: argparse.Namespace) -> int:
    return jobs.run_prune(env, args, "lookback prune", "commits", prune)


def warm(
    conn: psycopg.Connection,
    *,
    commits: int,
    repository: str | None = None,
    batch: int = WARM_BATCH,
    progress: Progress = lambda done, total, note: None,
) -> WarmSummary:
    """Store the distributions of every fingerprint with results on each commit of
    `list_warm_commits`, `batch` fingerprints per `lookback_for` call on an autocommit
    connection. Fingerprints already stored are counted, not recomputed."""
    started = time.perf_counter()
    summary = WarmSummary()
    targets = lookback.list_warm_commits(conn, commits=commits, repository=repository)
    summary.repositories = len({commit["repository"] for commit in targets})
    for done, commit in enumerate(targets, 1):
        summary.commits += 1
        fingerprints = lookback.list_commit_fingerprints(conn, commit["id"])
        for start in range(0, len(fingerprints), batch):
            chunk = fingerprints[start : start + batch]
            before = after = lookback.count_stored_distributions(conn, commit["id"], chunk)
            if before < len(chunk):
                lookback.create_epochs(conn, commit["repository"], chunk)
                lookback.lookback_for(conn, commit, chunk)
                after = lookback.count_stored_distributions(conn, commit["id"], chunk)
            summary.fingerprints += len(chunk)
            summary.already_stored += before
            summary.stored += max(after - before, 0)
            summary.not_stored += len(chunk) - after
        progress(done, len(targets), f"{summary.stored} stored")
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def prune(
    conn: psycopg.Connection,
    days: float,
    *,
    batch: int = PRUNE_BATCH,
    progress: Progress = lambda done, total, note: None,
) -> PruneSummary:
    """Delete the stored distributions computed more than `days` days ago (database clock),
    commit by commit, at most `batch` rows per statement on an autocommit connection."""
    started = time.perf_counter()
    cutoff = lookback.prune_cutoff(conn, days)
    summary = PruneSummary(cutoff=serialize.rfc3339(cutoff))
    commits = lookback.list_prunable_commits(conn, cutoff)
    for done, (commit_id, _) in enumerate(commits, 1):
        summary.commits += 1
        while True:
            deleted = lookback.delete_old_distributions(conn, commit_id, cutoff, batch)
            summary.deleted += deleted
            if deleted < batch:
                break
        progress(done, len(commits), f"{summary.deleted} deleted")
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def _repository(text: str | None) -> str | None:
    if text is None:
        return None
    repository = normalize_repository(text)
    if not repository:
        raise UsageError("--repository must be a repository URL")
    return repository
