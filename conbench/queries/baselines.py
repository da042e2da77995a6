"""Baseline runs of a contender run: the legacy candidates (01 §7.6) and the CI report's pick
(02 §9.2), both searching the 20-commit ancestry of a baseline commit (04 §8)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from conbench import sql
from conbench.queries.ancestry import (
    BASELINE_SEARCH_LIMIT,
    Ancestor,
    AncestryUnavailable,
    ancestors,
    on_default_branch,
)

_Q = sql.load("baselines")

NOT_CONNECTED = "the contender run is not connected to the git graph"
ON_DEFAULT_BRANCH = "the contender run is already on the default branch"
NO_SUCH_COMMIT = "this baseline commit type does not exist for this run"
NO_ANCESTRY = "could not find the baseline commit's ancestry because {reason}"
NO_MATCH = "no matching baseline run was found"

BASELINE_TYPES = ("fork_point", "parent", "latest_default")
# CI baseline error codes of the automatic search and their messages (02 §9.2); the explicit
# pairs of `baseline_run_ids` are checked by the CI report itself.
CI_ERRORS = {
    "unknown_parent": "contender parent commit is unknown",
    "unknown_fork_point": "contender fork point is unknown",
    "default_branch_run": "contender is already on the default branch",
    "unknown_latest_default": "latest default branch commit is unknown",
    "unknown_baseline_candidate": "baseline candidate commit metadata not found",
    "no_baseline_run": f"searched {BASELINE_SEARCH_LIMIT} ancestors, no baseline run found",
    "missing_commit_metadata": "selected run is not connected to commit metadata",
}


def candidate_baseline_runs(conn: psycopg.Connection, run_row: dict[str, Any]) -> dict[str, Any]:
    """`{"parent": C, "fork_point": C, "latest_default": C}` for a run's representative result
    (a `queries.runs` row), with `C = {"error", "baseline_run_id", "commits_skipped"}`."""
    fingerprints = _fingerprints(conn, run_row["run_id"])
    # The search depends on the baseline commit only, and two types often name the same commit
    # (a pull request's first commit has its fork point as parent): search each commit once.
    searched: dict[str, dict[str, Any]] = {}
    candidates = {}
    for kind, found in baseline_commits(conn, run_row).items():
        if not isinstance(found, dict):
            candidates[kind] = _candidate(found)
            continue
        if found["id"] not in searched:
            searched[found["id"]] = _legacy_search(conn, found, run_row, fingerprints)
        candidates[kind] = dict(searched[found["id"]])
    return candidates


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
    found["latest_default"] = _latest_default(conn, run_row["commit_repo_url"]) or NO_SUCH_COMMIT
    return found


def _legacy_search(
    conn: psycopg.Connection,
    baseline_commit: dict[str, Any],
    run_row: dict[str, Any],
    fingerprints: str | None,
) -> dict[str, Any]:
    """Upstream `_search_for_baseline_run`, with NULL-safe ordering (01 §9)."""
    try:
        ancestry = ancestors(conn, baseline_commit, limit=BASELINE_SEARCH_LIMIT)
    except AncestryUnavailable as exc:
        return _candidate(NO_ANCESTRY.format(reason=exc.reason))
    if not ancestry or not fingerprints:
        return _candidate(NO_MATCH)
    match = conn.execute(
        _Q["get_legacy_baseline_result"],
        {
            "commit_ids": [a.id for a in ancestry],
            "run_id": run_row["run_id"],
            # Upstream's speed filter: the last (oldest default-branch) ancestor's timestamp.
            "earliest": ancestry[-1].timestamp,
            "fingerprints": fingerprints,
            "run_reason": run_row["run_reason"],
        },
    ).fetchone()
    if match is None:
        return _candidate(NO_MATCH)
    return {
        "error": None,
        "baseline_run_id": match["run_id"],
        "commits_skipped": _skipped(ancestry, match["commit_id"]),
    }


@dataclass(frozen=True)
class CIBaseline:
    """The CI report's baseline pick for one contender run: a run and its commit row, or `error`
    `{"code", "message"}` (+ `searched_ancestor_limit`, `searched_commit_shas` for
    `no_baseline_run`)."""

    run_id: str | None = None
    commit: dict[str, Any] | None = None
    commits_skipped: tuple[str, ...] = ()
    error: dict[str, Any] | None = None


def ci_baseline_run(
    conn: psycopg.Connection, contender_run: dict[str, Any], baseline_type: str
) -> CIBaseline:
    """The CI report's baseline run (02 §9.2) of a contender run for `baseline_type` in
    BASELINE_TYPES. `contender_run` has `run_id`, `run_reason`, `commit_repo_url` and `commit`
    (a commit row or its JSON object, None when commitless), as `queries.runs.get_run` returns."""
    commit = contender_run["commit"]
    if commit is None:
        return _ci_failure("missing_commit_metadata")
    candidate = _ci_candidate_commit(conn, contender_run, baseline_type)
    if isinstance(candidate, str):
        return _ci_failure(candidate)
    try:
        ancestry = ancestors(conn, candidate, limit=BASELINE_SEARCH_LIMIT) if candidate else []
    except AncestryUnavailable:
        ancestry = []
    if not ancestry:
        return _ci_failure("unknown_baseline_candidate")
    match = conn.execute(
        _Q["get_ci_baseline_result"],
        {
            "commit_ids": [a.id for a in ancestry],
            "run_id": contender_run["run_id"],
            "commit_id": commit["id"],
            "fingerprints": _fingerprints(conn, contender_run["run_id"], commit["id"]),
            "run_reason": contender_run["run_reason"],
        },
    ).fetchone()
    if match is None:
        return _ci_failure(
            "no_baseline_run",
            searched_ancestor_limit=BASELINE_SEARCH_LIMIT,
            searched_commit_shas=[a.sha for a in ancestry],
        )
    return CIBaseline(
        run_id=match["run_id"],
        commit=conn.execute(_Q["get_commit"], {"id": match["commit_id"]}).fetchone(),
        commits_skipped=tuple(_skipped(ancestry, match["commit_id"])),
    )


def _ci_candidate_commit(
    conn: psycopg.Connection, contender_run: dict[str, Any], baseline_type: str
) -> dict[str, Any] | str | None:
    """The candidate baseline commit row (None when its row is missing), or an error code."""
    commit = contender_run["commit"]
    if baseline_type == "parent":
        if not commit["parent"]:
            return "unknown_parent"
        return _commit_row(conn, commit["parent"], commit["repository"])
    if baseline_type == "fork_point":
        if not commit["fork_point_sha"]:
            return "unknown_fork_point"
        if on_default_branch(commit):
            return "default_branch_run"
        return _commit_row(conn, commit["fork_point_sha"], commit["repository"])
    if baseline_type == "latest_default":
        return _latest_default(conn, contender_run["commit_repo_url"]) or "unknown_latest_default"
    raise ValueError(f"unknown baseline type {baseline_type!r}")


def _ci_failure(code: str, **details: Any) -> CIBaseline:
    return CIBaseline(error={"code": code, "message": CI_ERRORS[code], **details})


def _fingerprints(
    conn: psycopg.Connection, run_id: str, commit_id: str | None = None
) -> str | None:
    """The run's distinct fingerprints as the text form of a `text[]` (what the searches take as
    `%(fingerprints)s::text[]`), or None when it has none."""
    params = {"run_id": run_id, "commit_id": commit_id}
    row = conn.execute(_Q["list_run_fingerprints"], params).fetchone()
    return row["fingerprints"] if row["fingerprint_count"] else None


def _skipped(ancestry: list[Ancestor], commit_id: str) -> list[str]:
    """The ancestor SHAs listed before the baseline's commit."""
    index = next(i for i, a in enumerate(ancestry) if a.id == commit_id)
    return [a.sha for a in ancestry[:index]]


def _latest_default(conn: psycopg.Connection, repository: str) -> dict[str, Any] | None:
    return conn.execute(_Q["get_latest_default_commit"], {"repository": repository}).fetchone()


def _commit_row(conn: psycopg.Connection, sha: str, repository: str) -> dict[str, Any] | None:
    return conn.execute(_Q["get_commit_by_sha"], {"sha": sha, "repository": repository}).fetchone()


def _commit(conn: psycopg.Connection, sha: str | None, repository: str) -> dict[str, Any] | str:
    if sha is None:
        return NO_SUCH_COMMIT
    return _commit_row(conn, sha, repository) or NO_SUCH_COMMIT


def _candidate(error: str | None) -> dict[str, Any]:
    return {"error": error, "baseline_run_id": None, "commits_skipped": None}
