"""The CI report engine (02 §9, 04 §10): the verdict for one commit's runs or for explicit runs.

Per contender run a baseline run is chosen (`ci_selection`: ancestry search, or an explicit pair);
each contender result is paired with the baseline run's newest result of its fingerprint and scored
(`ci_rows`) by the lookback z-score (the distribution ends at the baseline commit) and the pairwise
percent change; this module assembles the body, its summary and status. The work is a fixed number
of set-based queries per report (a few per contender run), never one per row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import psycopg

from conbench.ci_rows import DEFAULT_THRESHOLD, Distribution, RowScorer, threshold_params
from conbench.ci_selection import (
    Baseline,
    ReportRejected,
    ReportRequest,
    choose_baselines,
    select_runs,
)
from conbench.queries import ci_report as queries
from conbench.queries import lookback
from conbench.queries.ci_report import BaselineRow, ContenderRow
from conbench.serialize import rfc3339

__all__ = [
    "BASELINE_TYPES",
    "DEFAULT_THRESHOLD",
    "Report",
    "ReportRejected",
    "ReportRequest",
    "build_report",
    "report_status",
    "report_url",
    "summarize",
]

BASELINE_TYPES = ("fork_point", "parent", "latest_default")
EXPLICIT = "explicit_run"
ROW_LIMIT = 5000
COMPARED = ("regressed", "improved", "stable", "insufficient")
ANALYZED = ("regressed", "improved", "stable")


@dataclass
class Report:
    """The response body, and the contender results annotated `begins_distribution_change` (the
    alert evaluator drops those rows before deriving its own status, 06 §3)."""

    body: dict[str, Any]
    annotated_result_ids: frozenset[str] = field(default_factory=frozenset)


def build_report(
    conn: psycopg.Connection, request: ReportRequest, base_url: str | None = None
) -> Report:
    """The CI report of 02 §9.5; raises ReportRejected for the 404/422 answers of §9.1."""
    runs, missing, repository, commit_sha = select_runs(conn, request)
    total = sum(run["result_count"] for run in runs)
    if total > ROW_LIMIT:
        raise ReportRejected(422, f"comparison row limit exceeded: {total} > {ROW_LIMIT}")
    kind = EXPLICIT if request.baseline_run_ids else (request.baseline or "fork_point")
    chosen = choose_baselines(conn, runs, request, kind)
    commit_id = runs[0]["commit"]["id"] if request.commit_mode and runs else None
    run_ids = [run["run_id"] for run in runs]
    contenders = queries.list_contender_results(conn, run_ids, commit_id)
    by_run: dict[str, list[ContenderRow]] = defaultdict(list)
    for row in contenders:
        by_run[row[1]].append(row)
    paired = _baseline_results(conn, chosen, by_run)
    distributions = _distributions(conn, chosen, by_run, paired)
    entities = queries.get_result_entities(conn, contenders) if contenders else {}
    scorer = RowScorer(entities, request.threshold, request.threshold_z)
    run_bodies = []
    for run in runs:
        baseline = chosen[run["run_id"]]
        rows = scorer.rows(
            by_run[run["run_id"]],
            run["commit"],
            None if baseline.run_id is None else paired.get(baseline.run_id, {}),
            distributions.get(baseline.commit["id"], {}) if baseline.commit else {},
        )
        run_bodies.append(_run_body(run, baseline, rows))
    summary = summarize(run_bodies, missing_runs=len(missing))
    status, reason = report_status(summary, run_bodies)
    body = {
        "repository": repository,
        "commit_sha": commit_sha,
        "selected_run_ids": [run["run_id"] for run in runs],
        "missing_run_ids": missing,
        "baseline": kind,
        "status": status,
        "status_reason": reason,
        "threshold": request.threshold,
        "threshold_z": request.threshold_z,
        "summary": summary,
        "runs": run_bodies,
        "report_url": report_url(request, base_url),
    }
    annotated = frozenset(row[0] for row in contenders if row[13])
    return Report(body, annotated)


def _baseline_results(
    conn: psycopg.Connection,
    chosen: dict[str, Baseline],
    by_run: dict[str, list[ContenderRow]],
) -> dict[str, dict[str, BaselineRow]]:
    """The baseline runs' newest result per fingerprint, by baseline run id, then fingerprint."""
    run_ids = sorted({b.run_id for b in chosen.values() if b.run_id is not None})
    fingerprints = {
        row[8]
        for run_id, baseline in chosen.items()
        if baseline.run_id is not None
        for row in by_run[run_id]
    }
    found: dict[str, dict[str, BaselineRow]] = defaultdict(dict)
    for row in queries.list_baseline_results(conn, run_ids, fingerprints):
        found[row[1]][row[8]] = row
    return found


def _distributions(
    conn: psycopg.Connection,
    chosen: dict[str, Baseline],
    by_run: dict[str, list[ContenderRow]],
    paired: dict[str, dict[str, BaselineRow]],
) -> dict[str, dict[str, Distribution]]:
    """(dist_mean, dist_std) by baseline commit id, then fingerprint, of every paired row: one
    lookback query per distinct baseline commit."""
    wanted: dict[str, set[str]] = defaultdict(set)
    commits: dict[str, dict[str, Any]] = {}
    for run_id, baseline in chosen.items():
        if baseline.commit is None:
            continue
        pairs = paired.get(baseline.run_id, {}) if baseline.run_id is not None else {}
        found = {row[8] for row in by_run[run_id] if row[8] in pairs}
        if found:
            wanted[baseline.commit["id"]].update(found)
            commits[baseline.commit["id"]] = baseline.commit
    return {
        commit_id: lookback.lookback_for(conn, commits[commit_id], fingerprints)
        for commit_id, fingerprints in wanted.items()
    }


def _run_body(
    run: dict[str, Any], baseline: Baseline, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    commit = run["commit"]
    base_commit = baseline.commit
    return {
        "run_id": run["run_id"],
        "run_tags": run["run_tags"],
        "run_reason": run["run_reason"],
        "commit": None
        if commit is None
        else {
            "id": commit["id"],
            "sha": commit["sha"],
            "repository": commit["repository"],
            "timestamp": rfc3339(commit["timestamp"]),
        },
        "baseline_run_id": baseline.run_id,
        "baseline_commit": None
        if base_commit is None
        else {
            "id": base_commit["id"],
            "sha": base_commit["sha"],
            "repository": base_commit["repository"],
            "message": base_commit["message"],
            "timestamp": rfc3339(base_commit["timestamp"]),
        },
        "commits_skipped": baseline.commits_skipped,
        "baseline_error": baseline.error,
        "comparisons": rows,
    }


def summarize(runs: Iterable[dict[str, Any]], *, missing_runs: int) -> dict[str, int]:
    """The counters of 02 §9.4 over the rows of these run bodies."""
    runs = list(runs)
    statuses = [row["status"] for run in runs for row in run["comparisons"]]
    count = statuses.count
    return {
        "runs": len(runs),
        "missing_runs": missing_runs,
        "contender_results": len(statuses),
        "compared": sum(map(count, COMPARED)),
        "analyzed": sum(map(count, ANALYZED)),
        "regressions": count("regressed"),
        "improvements": count("improved"),
        "benchmark_errors": count("errored"),
        "missing_baseline": count("missing_baseline"),
        "not_comparable": count("not_comparable"),
    }


def report_status(summary: dict[str, int], runs: Sequence[dict[str, Any]]) -> tuple[str, str]:
    """(status, status_reason) by the first matching line of the 02 §9.4 table."""
    if summary["runs"] == 0:
        return "action_required", "no runs found for selected commit"
    if all(run["commit"] is None for run in runs):
        return "action_required", "selected runs are not connected to commit metadata"
    if summary["contender_results"] == 0:
        return "action_required", "selected runs contain no benchmark results"
    if summary["missing_runs"] > 0:
        return "action_required", "explicit run IDs were not found"
    if summary["benchmark_errors"] > 0:
        return "action_required", "benchmark errors require inspection"
    if any(
        run["baseline_error"] is not None and run["baseline_error"]["code"] != "no_baseline_run"
        for run in runs
    ):
        return "action_required", "baseline commit metadata is incomplete"
    if summary["regressions"] > 0:
        return "failure", "lookback regression detected"
    if summary["analyzed"] == 0:
        return "skipped", "no row has enough baseline history for z-score analysis"
    return "success", "no regressions"


def report_url(request: ReportRequest, base_url: str | None) -> str:
    """The web page of this report: absolute with CONBENCH_INTENDED_BASE_URL, else relative."""
    params: list[tuple[str, str]] = []
    if request.commit_mode:
        params += [
            ("repository", request.repository or ""),
            ("commit_sha", request.commit_sha or ""),
        ]
    if request.run_ids:
        params.append(("run_ids", ",".join(request.run_ids)))
    if request.baseline_run_ids:
        params.append(("baseline_run_ids", ",".join(request.baseline_run_ids)))
    if request.baseline is not None:
        params.append(("baseline", request.baseline))
    params += threshold_params(request.threshold, request.threshold_z)
    return f"{base_url or ''}/ci/report?{urlencode(params, safe=':/,')}"
