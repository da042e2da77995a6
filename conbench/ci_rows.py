"""The rows of a CI report (02 §9.3): each contender result paired with its baseline run's newest
result of the same fingerprint and classified (errored, missing_baseline, not_comparable, else the
lookback verdict) with the pairwise percent change and the lookback z-score.

A report has up to 5,000 rows, so rows arrive as tuples (column orders in
`queries.ci_report`) and what repeats across rows (a unit's direction, a case's tags, a commit's
timestamp) is worked out once per report.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from conbench import stats
from conbench.aggregates import less_is_better
from conbench.queries.ci_report import BaselineRow, ContenderRow, Entities
from conbench.serialize import rfc3339

DEFAULT_THRESHOLD = 5.0

Distribution = tuple[float | None, float | None]


class RowScorer:
    """Scores the rows of one report with its entities (as
    `queries.ci_report.get_result_entities` returns them) and thresholds; remembers each unit's
    direction and SVS type, each case's tags and each commit timestamp's text, which rows share."""

    def __init__(
        self,
        entities: Entities,
        threshold: float = DEFAULT_THRESHOLD,
        threshold_z: float = DEFAULT_THRESHOLD,
    ) -> None:
        self.threshold, self.threshold_z = threshold, threshold_z
        # The thresholds a compare link carries: only those that are not the default.
        params = threshold_params(threshold, threshold_z)
        self.link_suffix = "".join(f"&{k}={v}" for k, v in params)
        self.cases, self.contexts = entities.get("case", {}), entities.get("context", {})
        self.infos, self.hardware = entities.get("info", {}), entities.get("hardware", {})
        self.units: dict[str | None, tuple[bool | None, str]] = {}
        self.case_views: dict[str, tuple[str, dict[str, Any]]] = {}
        self.timestamps: dict[datetime | None, str | None] = {}

    def rows(
        self,
        contenders: Sequence[ContenderRow],
        commit: dict[str, Any] | None,
        baselines: dict[str, BaselineRow] | None,
        distributions: dict[str, Distribution],
    ) -> list[dict[str, Any]]:
        """The report rows (02 §9.3) of one contender run's results on `commit` (its commit row
        or JSON object): `baselines` maps a fingerprint to the baseline run's newest result of it
        (None when the run has no baseline run), `distributions` to its lookback distribution at
        the baseline commit."""
        sha, timestamp = (commit["sha"], rfc3339(commit["timestamp"])) if commit else (None, None)
        if baselines is None:
            return [self.row(row, sha, timestamp, None, False, distributions) for row in contenders]
        return [
            self.row(row, sha, timestamp, baselines.get(row[8]), True, distributions)
            for row in contenders
        ]

    def unit(self, unit: str | None) -> tuple[bool | None, str]:
        """(less_is_better, SVS type) of a unit."""
        known = self.units.get(unit)
        if known is None:
            known = self.units[unit] = (less_is_better(unit), stats.svs_type(unit))
        return known

    def case(self, case_id: str) -> tuple[str, dict[str, Any]]:
        """(name, tags with the name) of a case."""
        known = self.case_views.get(case_id)
        if known is None:
            name, tags = self.cases[case_id]
            known = self.case_views[case_id] = (name, {"name": name, **tags})
        return known

    def commit_timestamp(self, timestamp: datetime | None) -> str | None:
        known = self.timestamps.get(timestamp, _MISSING)
        if known is _MISSING:
            known = self.timestamps[timestamp] = rfc3339(timestamp)
        return known

    def row(
        self,
        contender: ContenderRow,
        commit_sha: str | None,
        commit_timestamp: str | None,
        baseline: BaselineRow | None,
        baseline_known: bool,
        distributions: dict[str, Distribution],
    ) -> dict[str, Any]:
        """One row; `baseline_known` is whether the contender run has a baseline run at all."""
        (
            result_id,
            run_id,
            timestamp,
            unit,
            data,
            min_,
            max_,
            error,
            fingerprint,
            case_id,
            context_id,
            info_id,
            hardware_id,
            _begins,
        ) = contender
        lower, svs_type = self.units.get(unit) or self.unit(unit)
        name, tags = self.case_views.get(case_id) or self.case(case_id)
        links = {"result": f"/results/{result_id}"}
        baseline_side = analysis = reason = None
        if error is not None:
            contender_svs = None
            status = "errored"
        else:
            contender_svs = stats.single_value_summary(unit, data, min_, max_)
            if not baseline_known or baseline is None:
                status = "missing_baseline"
            else:
                baseline_svs = _svs(baseline)
                baseline_side = {
                    "result_id": baseline[0],
                    "run_id": baseline[1],
                    "result_timestamp": baseline[2].isoformat() + "Z",
                    "commit_sha": baseline[9],
                    "commit_timestamp": self.commit_timestamp(baseline[10]),
                    "single_value_summary": baseline_svs,
                    "single_value_summary_type": self.unit(baseline[3])[1],
                }
                reason = _not_comparable(unit, contender_svs, baseline[3], baseline_svs)
                if reason is not None:
                    status = "not_comparable"
                else:
                    assert contender_svs is not None and baseline_svs is not None
                    dist_mean, dist_std = distributions.get(fingerprint) or NO_DISTRIBUTION
                    z = stats.lookback_z(contender_svs, dist_mean, dist_std, unit, self.threshold_z)
                    analysis = {
                        "pairwise": stats.pairwise(
                            baseline_svs, contender_svs, unit, self.threshold
                        ),
                        "lookback_z_score": z,
                    }
                    status = _verdict(z)
                    links["compare"] = (
                        f"/compare?baseline={_quoted(baseline[0])}"
                        f"&contender={_quoted(result_id)}{self.link_suffix}"
                    )
        links["series"] = f"/series/{fingerprint}"
        row: dict[str, Any] = {
            "status": status,
            "name": name,
            "tags": tags,
            "context": self.contexts[context_id],
            "info": self.infos[info_id],
            "hardware": self.hardware[hardware_id],
            "history_fingerprint": fingerprint,
            "unit": unit,
            "less_is_better": lower,
            "contender": {
                "result_id": result_id,
                "run_id": run_id,
                "result_timestamp": timestamp.isoformat() + "Z",
                "commit_sha": commit_sha,
                "commit_timestamp": commit_timestamp,
                "error": error,
                "single_value_summary": contender_svs,
                "single_value_summary_type": svs_type,
            },
            "baseline": baseline_side,
            "analysis": analysis,
            "error": error,
        }
        if reason is not None:
            row["reason"] = reason
        row["links"] = links
        return row


_MISSING = object()
NO_DISTRIBUTION: Distribution = (None, None)


def _svs(row: BaselineRow) -> float | None:
    if row[7] is not None:
        return None
    return stats.single_value_summary(row[3], row[4], row[5], row[6])


def _quoted(result_id: str) -> str:
    """An id as a query value; ids are hex, so quoting is rarely needed (and slow)."""
    return result_id if result_id.isalnum() else quote(result_id, safe="")


def _not_comparable(
    unit: str | None,
    contender_svs: float | None,
    baseline_unit: str | None,
    baseline_svs: float | None,
) -> str | None:
    """The compare route's 422 text for a pair it refuses (02 §8), or None."""
    if unit != baseline_unit:
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


def threshold_params(threshold: float, threshold_z: float) -> list[tuple[str, str]]:
    """Thresholds that differ from the default, written as short decimals (10, not 10.0)."""
    return [
        (name, _number(value))
        for name, value in (("threshold", threshold), ("threshold_z", threshold_z))
        if value != DEFAULT_THRESHOLD
    ]


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
