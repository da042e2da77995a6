"""Candidate baseline runs of a run (01 §7.6, search in 04 §8).

The baseline commit of each type is resolved here; the ancestry search that picks a run on it is
not built yet, so a found commit answers "baseline search not computed yet".
"""

from __future__ import annotations

from typing import Any

import psycopg

from conbench import sql

_Q = sql.load("baselines")

NOT_CONNECTED = "the contender run is not connected to the git graph"
ON_DEFAULT_BRANCH = "the contender run is already on the default branch"
NO_SUCH_COMMIT = "this baseline commit type does not exist for this run"
NOT_COMPUTED = "baseline search not computed yet"


def candidate_baseline_runs(conn: psycopg.Connection, run_row: dict[str, Any]) -> dict[str, Any]:
    """`{"parent": C, "fork_point": C, "latest_default": C}` for a run's representative result
    (a `queries.runs` row), with `C = {"error", "baseline_run_id", "commits_skipped"}`."""
    commits = baseline_commits(conn, run_row)
    return {
        kind: _candidate(found if isinstance(found, str) else NOT_COMPUTED)
        for kind, found in commits.items()
    }


def baseline_commits(conn: psycopg.Connection, run_row: dict[str, Any]) -> dict[str, Any]:
    """Per baseline type the baseline commit row, or the error string explaining its absence."""
    commit = run_row["commit"]
    found: dict[str, Any] = {}
    if commit is None:
        found["parent"] = found["fork_point"] = NOT_CONNECTED
    else:
        found["parent"] = _commit(conn, commit["parent"], commit["repository"])
        if commit["sha"] == commit["fork_point_sha"]:
            found["fork_point"] = ON_DEFAULT_BRANCH
        else:
            found["fork_point"] = _commit(conn, commit["fork_point_sha"], commit["repository"])
    latest = conn.execute(
        _Q["get_latest_default_commit"], {"repository": run_row["commit_repo_url"]}
    ).fetchone()
    found["latest_default"] = latest or NO_SUCH_COMMIT
    return found


def _commit(conn: psycopg.Connection, sha: str | None, repository: str) -> dict[str, Any] | str:
    if sha is None:
        return NO_SUCH_COMMIT
    row = conn.execute(_Q["get_commit_by_sha"], {"sha": sha, "repository": repository}).fetchone()
    return row or NO_SUCH_COMMIT


def _candidate(error: str | None) -> dict[str, Any]:
    return {"error": error, "baseline_run_id": None, "commits_skipped": None}
