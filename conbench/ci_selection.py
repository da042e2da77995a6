"""What a CI report compares (02 §9.1-§9.2): the request, the contender runs it selects (one
commit's runs, or explicit runs) and the baseline run of each (ancestry search, or an explicit
pair), or why there is none.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from conbench.ci_rows import DEFAULT_THRESHOLD
from conbench.queries import baselines
from conbench.queries import ci_report as queries

NOT_FOUND = ("explicit_baseline_run_not_found", "explicit baseline run was not found")
AMBIGUOUS = (
    "ambiguous_baseline_run",
    "explicit baseline run id matched multiple commits or run metadata groups",
)
BASELINE_COMMITLESS = (
    "missing_commit_metadata",
    "explicit baseline run is not connected to commit metadata",
)
CONTENDER_COMMITLESS = (
    "missing_commit_metadata",
    "selected run is not connected to commit metadata",
)


@dataclass(frozen=True)
class ReportRequest:
    """Validated parameters (02 §9.1); `repository` normalized, `baseline` None when not given."""

    repository: str | None = None
    commit_sha: str | None = None
    run_ids: tuple[str, ...] = ()
    baseline_run_ids: tuple[str, ...] = ()
    baseline: str | None = None
    threshold: float = DEFAULT_THRESHOLD
    threshold_z: float = DEFAULT_THRESHOLD

    @property
    def commit_mode(self) -> bool:
        return self.repository is not None and self.commit_sha is not None


class ReportRejected(Exception):
    """The request cannot be answered with a report: `status` 404 or 422 with an exact `detail`."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass
class Baseline:
    """The baseline chosen for one contender run, or why there is none."""

    run_id: str | None = None
    commit: dict[str, Any] | None = None
    commits_skipped: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None


def select_runs(
    conn: psycopg.Connection, request: ReportRequest
) -> tuple[list[dict[str, Any]], list[str], str | None, str | None]:
    """(runs, missing run ids, repository, commit sha) of the report (02 §9.1 run selection)."""
    wanted = list(dict.fromkeys(request.run_ids))
    if request.commit_mode:
        assert request.repository is not None and request.commit_sha is not None
        found = queries.list_commit_runs(conn, request.repository, request.commit_sha)
        if not wanted:
            return found, [], request.repository, request.commit_sha
        by_id = {run["run_id"]: run for run in found}
        runs = [by_id[run_id] for run_id in wanted if run_id in by_id]
        missing = [run_id for run_id in wanted if run_id not in by_id]
        return runs, missing, request.repository, request.commit_sha
    groups = queries.list_run_groups(conn, wanted)
    if not groups:
        raise ReportRejected(404, "no runs found for run_ids")
    keys = {(g["commit_repo_url"], g["commit"]["id"] if g["commit"] else None) for g in groups}
    if len(keys) > 1:
        raise ReportRejected(422, "run_ids must share the same repository and commit")
    by_id = {group["run_id"]: group for group in groups}
    runs = [by_id[run_id] for run_id in wanted if run_id in by_id]
    missing = [run_id for run_id in wanted if run_id not in by_id]
    commit = runs[0]["commit"]
    return runs, missing, runs[0]["commit_repo_url"], commit["sha"] if commit else None


def choose_baselines(
    conn: psycopg.Connection, runs: Sequence[dict[str, Any]], request: ReportRequest, kind: str
) -> dict[str, Baseline]:
    """The baseline of every contender run (02 §9.2), keyed by run id."""
    explicit = dict(zip(request.run_ids, request.baseline_run_ids, strict=False))
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if explicit and runs:
        wanted = [explicit[run["run_id"]] for run in runs]
        for group in queries.list_run_groups(conn, wanted, runs[0]["commit_repo_url"]):
            groups[group["run_id"]].append(group)
    chosen = {}
    for run in runs:
        if run["commit"] is None:
            chosen[run["run_id"]] = _error(run, kind, CONTENDER_COMMITLESS)
        elif explicit:
            chosen[run["run_id"]] = _explicit(run, groups[explicit[run["run_id"]]], kind)
        else:
            chosen[run["run_id"]] = _searched(conn, run, kind)
    return chosen


def _explicit(run: dict[str, Any], groups: list[dict[str, Any]], kind: str) -> Baseline:
    if not groups:
        return _error(run, kind, NOT_FOUND)
    if len(groups) > 1:
        return _error(run, kind, AMBIGUOUS)
    if groups[0]["commit"] is None:
        return _error(run, kind, BASELINE_COMMITLESS)
    return Baseline(run_id=groups[0]["run_id"], commit=groups[0]["commit"])


def _searched(conn: psycopg.Connection, run: dict[str, Any], kind: str) -> Baseline:
    found = baselines.ci_baseline_run(conn, run, kind)
    if found.error is not None:
        return Baseline(error=_error_body(run, kind, found.error))
    return Baseline(
        run_id=found.run_id, commit=found.commit, commits_skipped=list(found.commits_skipped)
    )


def _error(run: dict[str, Any], kind: str, code_message: tuple[str, str]) -> Baseline:
    code, message = code_message
    return Baseline(error=_error_body(run, kind, {"code": code, "message": message}))


def _error_body(run: dict[str, Any], kind: str, error: dict[str, Any]) -> dict[str, Any]:
    commit = run["commit"]
    return {
        "code": error["code"],
        "message": error["message"],
        "run_id": run["run_id"],
        "baseline": kind,
        "commit_sha": commit["sha"] if commit else None,
        **{
            k: v
            for k, v in error.items()
            if k in ("searched_ancestor_limit", "searched_commit_shas")
        },
    }
