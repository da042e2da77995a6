"""The CI report engine (02 §9, 04 §10): the verdict for one commit's runs or for explicit runs.

Per contender run a baseline run is chosen (ancestry search, or an explicit pair); each contender
result is paired with the baseline run's newest result of its fingerprint and scored by the lookback
z-score (the distribution ends at the baseline commit) and the pairwise percent change. The work is
a fixed number of set-based queries per report (a few per contender run), never one per row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import psycopg

from conbench import stats
from conbench.aggregates import less_is_better
from conbench.queries import baselines, lookback
from conbench.queries import ci_report as queries
from conbench.serialize import rfc3339

BASELINE_TYPES = ("fork_point", "parent", "latest_default")
EXPLICIT = "explicit_run"
DEFAULT_THRESHOLD = 5.0
ROW_LIMIT = 5000
COMPARED = ("regressed", "improved", "stable", "insufficient")
ANALYZED = ("regressed", "improved", "stable")

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
class Report:
    """The response body, and the contender results annotated `begins_distribution_change` (the
    alert evaluator drops those rows before deriving its own status, 06 §3)."""

    body: dict[str, Any]
    annotated_result_ids: frozenset[str] = field(default_factory=frozenset)


@dataclass
class _Baseline:
    """The baseline chosen for one contender run, or why there is none."""

    run_id: str | None = None
    commit: dict[str, Any] | None = None
    commits_skipped: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None


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
    contenders = queries.list_contender_results(conn, [run["run_id"] for run in runs], commit_id)
    by_run: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in contenders:
        by_run[row["run_id"]].append(row)
    paired = _baseline_results(conn, chosen, by_run)
    scores = _distributions(conn, chosen, by_run, paired)
    scoring = Scoring(
        queries.list_result_entities(conn, contenders) if contenders else {},
        request.threshold,
        request.threshold_z,
    )
    run_bodies = []
    for run in runs:
        baseline = chosen[run["run_id"]]
        commit = _side_commit(run["commit"])
        rows = [
            score_row(
                row,
                commit,
                baseline.run_id is not None,
                paired.get((baseline.run_id, row["history_fingerprint"])),
                scores.get((_commit_key(baseline), row["history_fingerprint"])),
                scoring,
            )
            for row in by_run[run["run_id"]]
        ]
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
    annotated = frozenset(row["id"] for row in contenders if row["begins_distribution_change"])
    return Report(body, annotated)


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
) -> dict[str, _Baseline]:
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


def _explicit(run: dict[str, Any], groups: list[dict[str, Any]], kind: str) -> _Baseline:
    if not groups:
        return _error(run, kind, NOT_FOUND)
    if len(groups) > 1:
        return _error(run, kind, AMBIGUOUS)
    if groups[0]["commit"] is None:
        return _error(run, kind, BASELINE_COMMITLESS)
    return _Baseline(run_id=groups[0]["run_id"], commit=groups[0]["commit"])


def _searched(conn: psycopg.Connection, run: dict[str, Any], kind: str) -> _Baseline:
    found = baselines.ci_baseline_run(conn, run, kind)
    if found.error is not None:
        return _Baseline(error=_error_body(run, kind, found.error))
    return _Baseline(
        run_id=found.run_id, commit=found.commit, commits_skipped=list(found.commits_skipped)
    )


def _error(run: dict[str, Any], kind: str, code_message: tuple[str, str]) -> _Baseline:
    code, message = code_message
    return _Baseline(error=_error_body(run, kind, {"code": code, "message": message}))


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


def _baseline_results(
    conn: psycopg.Connection,
    chosen: dict[str, _Baseline],
    by_run: dict[str, list[dict[str, Any]]],
) -> dict[tuple[str, str], dict[str, Any]]:
    """The baseline runs' newest result per fingerprint, keyed (baseline run id, fingerprint)."""
    run_ids = sorted({b.run_id for b in chosen.values() if b.run_id is not None})
    fingerprints = {
        row["history_fingerprint"]
        for run_id, baseline in chosen.items()
        if baseline.run_id is not None
        for row in by_run[run_id]
    }
    rows = queries.list_baseline_results(conn, run_ids, sorted(fingerprints))
    return {(row["run_id"], row["history_fingerprint"]): row for row in rows}


def _commit_key(baseline: _Baseline) -> str | None:
    return baseline.commit["id"] if baseline.commit else None


def _distributions(
    conn: psycopg.Connection,
    chosen: dict[str, _Baseline],
    by_run: dict[str, list[dict[str, Any]]],
    paired: dict[tuple[str, str], dict[str, Any]],
) -> dict[tuple[str | None, str], tuple[float | None, float | None]]:
    """(dist_mean, dist_std) per (baseline commit id, fingerprint) of every paired row: one lookback
    query per distinct baseline commit."""
    wanted: dict[str, set[str]] = defaultdict(set)
    commits: dict[str, dict[str, Any]] = {}
    for run_id, baseline in chosen.items():
        if baseline.commit is None:
            continue
        for row in by_run[run_id]:
            if (baseline.run_id, row["history_fingerprint"]) in paired:
                wanted[baseline.commit["id"]].add(row["history_fingerprint"])
                commits[baseline.commit["id"]] = baseline.commit
    found: dict[tuple[str | None, str], tuple[float | None, float | None]] = {}
    for commit_id, fingerprints in wanted.items():
        distributions = lookback.lookback_for(conn, commits[commit_id], fingerprints)
        for fingerprint, distribution in distributions.items():
            found[(commit_id, fingerprint)] = distribution
    return found


@dataclass(frozen=True)
class Scoring:
    """What every row of a report is scored and shown with: the entities its rows name (by kind
    and id, from `queries.ci_report.list_result_entities`) and the thresholds."""

    entities: dict[str, dict[str, Any]]
    threshold: float = DEFAULT_THRESHOLD
    threshold_z: float = DEFAULT_THRESHOLD
    link_suffix: str = field(init=False)

    def __post_init__(self) -> None:
        # The thresholds a compare link carries: only those that are not the default.
        params = _threshold_params(self.threshold, self.threshold_z)
        object.__setattr__(self, "link_suffix", "".join(f"&{k}={v}" for k, v in params))


def score_row(
    contender: dict[str, Any],
    commit: tuple[str | None, str | None],
    baseline_known: bool,
    baseline: dict[str, Any] | None,
    distribution: tuple[float | None, float | None] | None,
    scoring: Scoring,
) -> dict[str, Any]:
    """One report row (02 §9.3) of a contender result on `commit` (sha, RFC 3339 timestamp):
    errored, missing_baseline, not_comparable, else the lookback verdict (`insufficient` without a
    z-score)."""
    unit = contender["unit"]
    contender_svs = _svs(contender)
    case = scoring.entities["case"][contender["case_id"]]
    fingerprint = contender["history_fingerprint"]
    row: dict[str, Any] = {
        "status": "",
        "name": case["name"],
        "tags": {"name": case["name"], **case["tags"]},
        "context": scoring.entities["context"][contender["context_id"]],
        "info": scoring.entities["info"][contender["info_id"]],
        "hardware": scoring.entities["hardware"][contender["hardware_id"]],
        "history_fingerprint": fingerprint,
        "unit": unit,
        "less_is_better": less_is_better(unit),
        "contender": {
            "result_id": contender["id"],
            "run_id": contender["run_id"],
            "result_timestamp": rfc3339(contender["timestamp"]),
            "commit_sha": commit[0],
            "commit_timestamp": commit[1],
            "error": contender["error"],
            "single_value_summary": contender_svs,
            "single_value_summary_type": stats.svs_type(unit),
        },
        "baseline": None,
        "analysis": None,
        "error": contender["error"],
    }
    links = {"result": f"/results/{contender['id']}"}
    if contender["error"] is not None:
        row["status"] = "errored"
    elif not baseline_known or baseline is None:
        row["status"] = "missing_baseline"
    else:
        baseline_svs = _svs(baseline)
        row["baseline"] = _baseline_side(baseline, baseline_svs)
        reason = _not_comparable(contender, contender_svs, baseline, baseline_svs)
        if reason is not None:
            row["status"] = "not_comparable"
            row["reason"] = reason
        else:
            assert contender_svs is not None and baseline_svs is not None
            dist_mean, dist_std = distribution or (None, None)
            z = stats.lookback_z(contender_svs, dist_mean, dist_std, unit, scoring.threshold_z)
            row["analysis"] = {
                "pairwise": stats.pairwise(baseline_svs, contender_svs, unit, scoring.threshold),
                "lookback_z_score": z,
            }
            row["status"] = _verdict(z)
            links["compare"] = (
                f"/compare?baseline={_quoted(baseline['id'])}"
                f"&contender={_quoted(contender['id'])}{scoring.link_suffix}"
            )
    links["series"] = f"/series/{fingerprint}"
    row["links"] = links
    return row


def _quoted(result_id: str) -> str:
    """An id as a query value; ids are hex, so quoting is rarely needed (and slow)."""
    return result_id if result_id.isalnum() else quote(result_id, safe="")


def _svs(row: dict[str, Any]) -> float | None:
    if row["error"] is not None:
        return None
    return stats.single_value_summary(row["unit"], row["data"], row["min"], row["max"])


def _side_commit(commit: dict[str, Any] | None) -> tuple[str | None, str | None]:
    return (commit["sha"], rfc3339(commit["timestamp"])) if commit else (None, None)


def _baseline_side(row: dict[str, Any], svs: float | None) -> dict[str, Any]:
    return {
        "result_id": row["id"],
        "run_id": row["run_id"],
        "result_timestamp": rfc3339(row["timestamp"]),
        "commit_sha": row["commit_sha"],
        "commit_timestamp": rfc3339(row["commit_timestamp"]),
        "single_value_summary": svs,
        "single_value_summary_type": stats.svs_type(row["unit"]),
    }


def _not_comparable(
    contender: dict[str, Any],
    contender_svs: float | None,
    baseline: dict[str, Any],
    baseline_svs: float | None,
) -> str | None:
    """The compare route's 422 text for a pair it refuses (02 §8), or None."""
    if contender["unit"] != baseline["unit"]:
        return "not comparable: units differ"
    if baseline_svs is None:
        return "not comparable: baseline result failed"
    if contender_svs is None:
        return "not comparable: contender result failed"
    return None


def _verdict(z: dict[str, Any] | None) -> str:
    if z is None:
        return "insufficient"
    if z["regression_indicated"]:
        return "regressed"
    if z["improvement_indicated"]:
        return "improved"
    return "stable"


def _run_body(
    run: dict[str, Any], baseline: _Baseline, rows: list[dict[str, Any]]
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
    params += _threshold_params(request.threshold, request.threshold_z)
    return f"{base_url or ''}/ci/report?{urlencode(params, safe=':/,')}"


def _threshold_params(threshold: float, threshold_z: float) -> list[tuple[str, str]]:
    """Thresholds that differ from the default, written as short decimals (10, not 10.0)."""
    return [
        (name, _number(value))
        for name, value in (("threshold", threshold), ("threshold_z", threshold_z))
        if value != DEFAULT_THRESHOLD
    ]


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
