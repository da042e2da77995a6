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
    direction and SVS type and each commit timestamp's text, which rows share."""

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
        # A case's tags as a row shows them: its name first (a "name" tag gives the value).
        self.case_names = names = entities.get("case_name", {})
        self.case_tags = {
            case_id: {"name": names[case_id], **tags}
            for case_id, tags in entities.get("case", {}).items()
        }
        self.contexts, self.infos = entities.get("context", {}), entities.get("info", {})
        self.hardware = entities.get("hardware", {})
        self.units: dict[str | None, tuple[bool | None, str]] = {}
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
        the baseline commit. One loop with the lookups held in locals: this runs for every row
        of the report."""
        commit_sha, commit_timestamp = (
            (commit["sha"], rfc3339(commit["timestamp"])) if commit else (None, None)
        )
        pairs = {} if baselines is None else baselines
        units, unit_of = self.units, self.unit
        case_names, case_tags = self.case_names, self.case_tags
        contexts, infos, hardware = self.contexts, self.infos, self.hardware
        threshold, threshold_z, link_suffix = self.threshold, self.threshold_z, self.link_suffix
        z_threshold, percent_threshold = float(threshold_z), float(threshold)
        round4 = stats.round4
        out = []
        append = out.append
        for (
            result_id,
            run_id,
            timestamp,
            unit,
            summarizable,
            min_,
            max_,
            error,
            fingerprint,
            case_id,
            context_id,
            info_id,
            hardware_id,
            _begins,
            data,
        ) in contenders:
            lower, svs_type = units.get(unit) or unit_of(unit)
            baseline_side = analysis = reason = compare = None
            if error is not None:
                contender_svs = None
                status = "errored"
            else:
                contender_svs = _summary(lower, summarizable, min_, max_, data)
                baseline = pairs.get(fingerprint)
                if baseline is None:
                    status = "missing_baseline"
                else:
                    baseline_unit = baseline[3]
                    baseline_lower, baseline_type = units.get(baseline_unit) or unit_of(
                        baseline_unit
                    )
                    baseline_svs = (
                        None
                        if baseline[7] is not None
                        else _summary(
                            baseline_lower, baseline[4], baseline[5], baseline[6], baseline[11]
                        )
                    )
                    baseline_id = baseline[0]
                    baseline_side = {
                        "result_id": baseline_id,
                        "run_id": baseline[1],
                        "result_timestamp": baseline[2].isoformat() + "Z",
                        "commit_sha": baseline[9],
                        "commit_timestamp": self.commit_timestamp(baseline[10]),
                        "single_value_summary": baseline_svs,
                        "single_value_summary_type": baseline_type,
                    }
                    if unit != baseline_unit:
                        reason = "not comparable: units differ"
                    elif baseline_svs is None:
                        reason = "not comparable: baseline result failed"
                    elif contender_svs is None:
                        reason = "not comparable: contender result failed"
                    if reason is not None:
                        status = "not_comparable"
                    else:
                        # stats.lookback_z and stats.pairwise (04 §6-§7) written out, with the
                        # unit's direction known (`lower` is not None: both summaries exist);
                        # tests/test_ci_report.py holds them equal.
                        dist_mean, dist_std = distributions.get(fingerprint) or NO_DISTRIBUTION
                        z = None
                        status = "insufficient"
                        if dist_mean is not None and dist_std is not None and dist_std != 0:
                            signed = (contender_svs - dist_mean) / dist_std
                            if signed == signed:
                                if lower and signed != 0:
                                    signed = -signed
                                regressed = -signed > threshold_z
                                improved = signed > threshold_z
                                z = {
                                    "z_threshold": z_threshold,
                                    "z_score": round4(signed),
                                    "regression_indicated": regressed,
                                    "improvement_indicated": improved,
                                }
                                status = (
                                    "regressed"
                                    if regressed
                                    else "improved"
                                    if improved
                                    else "stable"
                                )
                        change = None
                        if baseline_svs != 0 and baseline_svs == baseline_svs:
                            relative = (contender_svs - baseline_svs) / abs(baseline_svs)
                            if relative == relative:
                                if lower and relative != 0:
                                    relative = -relative
                                percent = relative * 100.0
                                change = {
                                    "percent_change": round4(percent),
                                    "percent_threshold": percent_threshold,
                                    "regression_indicated": -percent > threshold,
                                    "improvement_indicated": percent > threshold,
                                }
                        analysis = {"pairwise": change, "lookback_z_score": z}
                        compare = (
                            f"/compare?baseline={_quoted(baseline_id)}"
                            f"&contender={_quoted(result_id)}{link_suffix}"
                        )
            row: dict[str, Any] = {
                "status": status,
                "name": case_names[case_id],
                "tags": case_tags[case_id],
                "context": contexts[context_id],
                "info": infos[info_id],
                "hardware": hardware[hardware_id],
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
            row["links"] = (
                {"result": f"/results/{result_id}", "series": f"/series/{fingerprint}"}
                if compare is None
                else {
                    "result": f"/results/{result_id}",
                    "compare": compare,
                    "series": f"/series/{fingerprint}",
                }
            )
            append(row)
        return out

    def unit(self, unit: str | None) -> tuple[bool | None, str]:
        """(less_is_better, SVS type) of a unit."""
        known = self.units.get(unit)
        if known is None:
            known = self.units[unit] = (less_is_better(unit), stats.svs_type(unit))
        return known

    def commit_timestamp(self, timestamp: datetime | None) -> str | None:
        known = self.timestamps.get(timestamp, _MISSING)
        if known is _MISSING:
            known = self.timestamps[timestamp] = rfc3339(timestamp)
        return known


_MISSING = object()
NO_DISTRIBUTION: Distribution = (None, None)


def _summary(
    lower: bool | None, summarizable: bool, min_: float | None, max_: float | None, data
) -> float | None:
    """`stats.single_value_summary` of a row as the queries sum it up: `lower` is the unit's
    direction (None without a unit or direction), `summarizable` whether the data is present, not
    empty and without NULL, `data` the repetitions when min or max is missing (else None)."""
    if lower is None or not summarizable:
        return None
    if lower:
        return float(min_) if min_ is not None else float(min(data))
    return float(max_) if max_ is not None else float(max(data))


def _quoted(result_id: str) -> str:
    """An id as a query value; ids are hex, so quoting is rarely needed (and slow)."""
    return result_id if result_id.isalnum() else quote(result_id, safe="")


def threshold_params(threshold: float, threshold_z: float) -> list[tuple[str, str]]:
    """Thresholds that differ from the default, written as short decimals (10, not 10.0)."""
    return [
        (name, _number(value))
        for name, value in (("threshold", threshold), ("threshold_z", threshold_z))
        if value != DEFAULT_THRESHOLD
    ]


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
