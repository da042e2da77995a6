"""Demo data for development (`CONBENCH_SEED=true`, 07 §9): seven results on a small commit graph,
stored through the normal ingestion code with a fixed commit map instead of GitHub."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg

from conbench.ingest import LocalCommitMap, NewCommit, store_results
from conbench.queries import ingest as queries
from conbench.validation import prepare_result

REPOSITORY = "https://github.com/conbench/demo"
MAIN = "conbench:main"


@dataclass(frozen=True)
class DemoCommit:
    """One row of the 07 §9 table: a commit and the result measured on it."""

    sha: str
    message: str
    day: int
    mean: str | None  # m of 07 §9; None for the partial (errored) run
    parent: str | None
    branch: str
    fork_point: str


DEMO_COMMITS = (
    DemoCommit("commit-01", "Add baseline sort", 1, "1.00", None, MAIN, "commit-01"),
    DemoCommit("commit-02", "Tune pivot selection", 2, "1.05", "commit-01", MAIN, "commit-02"),
    DemoCommit("commit-03", "Vectorize partition", 3, "1.10", "commit-02", MAIN, "commit-03"),
    DemoCommit(
        "feature-branch-1",
        "WIP: experimental layout",
        4,
        "1.80",
        "commit-03",
        "conbench:feature-branch-1",
        "commit-03",
    ),
    DemoCommit(
        "commit-04", "Parallelize merge (regressed)", 5, "1.40", "commit-03", MAIN, "commit-04"
    ),
    DemoCommit("commit-05", "Cache-friendly layout", 6, "1.45", "commit-04", MAIN, "commit-05"),
    DemoCommit(
        "commit-06-broken", "Broken nightly run", 7, None, "commit-05", MAIN, "commit-06-broken"
    ),
)

MACHINE_INFO = {
    "name": "demo-runner",
    "architecture_name": "arm64",
    "kernel_name": "6.1.0",
    "os_name": "Linux",
    "os_version": "12",
    "cpu_model_name": "Demo CPU",
    "cpu_l1d_cache_bytes": 0,
    "cpu_l1i_cache_bytes": 0,
    "cpu_l2_cache_bytes": 0,
    "cpu_l3_cache_bytes": 0,
    "cpu_core_count": 10,
    "cpu_thread_count": 10,
    "cpu_frequency_max_hz": 0,
    "memory_bytes": 34359738368,
    "gpu_count": 0,
    "gpu_product_names": [],
}


def _timestamp(commit: DemoCommit) -> datetime:
    return datetime(2024, 1, commit.day, 12, 0, 0)


def _data(commit: DemoCommit) -> list[float | None]:
    """`[m, m+0.02, m+0.04]` as 2-decimal literals; the broken run misses its second sample."""
    if commit.mean is None:
        return [1.00, None, 1.04]
    m = Decimal(commit.mean)
    return [float(m + Decimal(step)) for step in ("0", "0.02", "0.04")]


def demo_payload(commit: DemoCommit) -> dict[str, Any]:
    """The legacy create body of one demo result."""
    return {
        "run_id": f"run-{commit.sha}",
        "run_name": "nightly",
        "batch_id": f"batch-{commit.sha}",
        "timestamp": _timestamp(commit).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tags": {"name": "demo-benchmark", "dataset": "uniform"},
        "context": {"compiler": "gcc-13", "optimization": "O2"},
        "info": {"benchmark_language": "C++"},
        "machine_info": dict(MACHINE_INFO),
        "github": {"repository": REPOSITORY, "commit": commit.sha},
        "stats": {"data": _data(commit), "unit": "s"},
    }


def demo_commit_map() -> LocalCommitMap:
    """Parents, branches and fork points of the demo graph; commit dates equal result dates."""
    return LocalCommitMap(
        {
            c.sha: NewCommit(
                parent=c.parent,
                message=c.message,
                timestamp=_timestamp(c),
                branch=c.branch,
                fork_point_sha=c.fork_point,
            )
            for c in DEMO_COMMITS
        }
    )


def seed_demo_data(conn: psycopg.Connection) -> int:
    """Store the demo results unless the database holds any result; returns how many were stored.

    Concurrent seeders (two servers starting at once) are serialized by an advisory lock.
    """
    with conn.transaction():
        queries.lock_seed(conn)
        if queries.exists_result(conn):
            return 0
        inputs = [prepare_result(demo_payload(c), modern=False) for c in DEMO_COMMITS]
        stored = store_results(conn, inputs, commits=demo_commit_map(), surface=None)
    return len(stored)
