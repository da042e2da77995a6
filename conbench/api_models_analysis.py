"""Schemas of the analysis routes (02 §5-9): series, history, compare and the CI report.

The status enumerations are pinned by 02 §13 and live here as named components.
"""

from __future__ import annotations

from conbench.api_models import (
    BASELINE_ERROR_CODES,
    BASELINES,
    CI_REPORT_STATUS,
    CI_ROW_STATUS,
    HARDWARE_SUMMARY,
    LESS_IS_BETTER,
    NEXT_CURSOR,
    SERIES_STATUS,
    SVS,
    SVS_TYPE,
    Schema,
    array,
    boolean,
    enum,
    free,
    integer,
    nullable,
    number,
    obj,
    ref,
    string,
    timestamp,
)

ANALYSIS = obj(
    {
        "pairwise": nullable(ref("PairwiseAnalysis")),
        "lookback_z_score": nullable(ref("LookbackZScore")),
    }
)


def _side(with_error: bool) -> Schema:
    props: dict[str, Schema] = {
        "result_id": string(),
        "run_id": string(),
        "result_timestamp": timestamp(),
        "commit_sha": nullable(string()),
        "commit_timestamp": nullable(timestamp()),
        "error": nullable(free()),
        "single_value_summary": SVS,
        "single_value_summary_type": SVS_TYPE,
    }
    if not with_error:
        del props["error"]
    return obj(props)


ANALYSIS_SCHEMAS: dict[str, Schema] = {
    "SeriesStatus": enum(*SERIES_STATUS, description="Latest point against its preceding points."),
    "Series": obj(
        {
            "history_fingerprint": string(),
            "name": string(),
            "tags": free(),
            "context": free(),
            "hardware": HARDWARE_SUMMARY,
            "repository": nullable(string()),
            "unit": nullable(string()),
            "less_is_better": LESS_IS_BETTER,
            "status": ref("SeriesStatus"),
            "latest_result_id": string(),
            "latest_single_value_summary": nullable(number()),
            "latest_single_value_summary_type": SVS_TYPE,
            "latest_commit_sha": nullable(string()),
            "latest_commit_timestamp": nullable(timestamp()),
            "latest_result_timestamp": timestamp(),
            "point_count": integer(),
            "sparkline": array(number(), "At most 20 most recent SVS values, oldest first."),
        }
    ),
    "SeriesPage": obj(
        {
            "series": array(ref("Series")),
            "next_cursor": NEXT_CURSOR,
            "truncated": boolean(
                "Results beyond the bounded window were omitted; narrow the query."
            ),
        },
        optional=("truncated",),
    ),
    "HistoryPoint": obj(
        {
            "result_id": string(),
            "run_id": string(),
            "batch_id": nullable(string()),
            "commit_sha": string(),
            "commit_message": nullable(string()),
            "commit_timestamp": nullable(timestamp()),
            "result_timestamp": timestamp(),
            "single_value_summary": SVS,
            "data": array(nullable(number())),
            "mean": nullable(number()),
            "begins_distribution_change": boolean(),
            "segment_id": integer(),
            **{
                k: nullable(number())
                for k in ("rolling_mean", "rolling_mean_excluding_this_commit", "residual")
            },
            "rolling_stddev": nullable(number("Null when undefined.")),
            "z_score": nullable(number("Against the preceding distribution, sign-adjusted.")),
            "is_outlier": boolean(),
            "is_step": boolean(),
        }
    ),
    "HistorySeries": obj(
        {
            "history_fingerprint": string(),
            "name": string(),
            "tags": free(),
            "context": free(),
            "hardware": HARDWARE_SUMMARY,
            "repository": nullable(string()),
            "unit": nullable(string()),
            "less_is_better": LESS_IS_BETTER,
            "single_value_summary_type": SVS_TYPE,
            "points": array(
                ref("HistoryPoint"), "By commit timestamp, then result timestamp, then id."
            ),
        }
    ),
    "ComparisonSide": obj(
        {
            "benchmark_result_id": string(),
            "run_id": string(),
            "commit_sha": nullable(string()),
            "single_value_summary": SVS,
            "single_value_summary_type": SVS_TYPE,
        }
    ),
    "Comparison": obj(
        {
            "history_fingerprint": string(),
            "unit": string(),
            "less_is_better": LESS_IS_BETTER,
            "baseline": ref("ComparisonSide"),
            "contender": ref("ComparisonSide"),
            "analysis": ANALYSIS,
        }
    ),
    "CIRowStatus": enum(*CI_ROW_STATUS),
    "CIReportStatus": enum(*CI_REPORT_STATUS),
    "CIRow": obj(
        {
            "status": ref("CIRowStatus"),
            "name": string(),
            "tags": free("Case tags including `name`."),
            "context": free(),
            "info": free(),
            "hardware": HARDWARE_SUMMARY,
            "history_fingerprint": string(),
            "unit": nullable(string()),
            "less_is_better": LESS_IS_BETTER,
            "contender": _side(with_error=True),
            "baseline": nullable(_side(with_error=False)),
            "analysis": nullable(ANALYSIS),
            "error": nullable(free()),
            "reason": string("Why the pair is not comparable."),
            "links": obj(
                {"result": string(), "compare": string("Only when compared."), "series": string()},
                optional=("compare",),
            ),
        },
        optional=("reason",),
    ),
    "BaselineError": obj(
        {
            "code": enum(*BASELINE_ERROR_CODES),
            "message": string(),
            "run_id": string(),
            "baseline": string(),
            "commit_sha": nullable(string()),
            "searched_ancestor_limit": integer(),
            "searched_commit_shas": array(string()),
        },
        optional=("searched_ancestor_limit", "searched_commit_shas"),
    ),
    "CIRun": obj(
        {
            "run_id": string(),
            "run_tags": free(),
            "run_reason": nullable(string()),
            "commit": nullable(
                obj(
                    {
                        "id": string(),
                        "sha": string(),
                        "repository": string(),
                        "timestamp": nullable(timestamp()),
                    }
                )
            ),
            "baseline_run_id": nullable(string()),
            "baseline_commit": nullable(
                obj(
                    {
                        "id": string(),
                        "sha": string(),
                        "repository": string(),
                        "message": nullable(string()),
                        "timestamp": nullable(timestamp()),
                    }
                )
            ),
            "commits_skipped": array(string()),
            "baseline_error": nullable(ref("BaselineError")),
            "comparisons": array(ref("CIRow")),
        }
    ),
    "CIReport": obj(
        {
            "repository": nullable(string()),
            "commit_sha": nullable(string()),
            "selected_run_ids": array(string()),
            "missing_run_ids": array(string()),
            "baseline": enum(*BASELINES, "explicit_run"),
            "status": ref("CIReportStatus"),
            "status_reason": string(),
            "threshold": number(),
            "threshold_z": number(),
            "summary": obj(
                {
                    k: integer()
                    for k in (
                        "runs",
                        "missing_runs",
                        "contender_results",
                        "compared",
                        "analyzed",
                        "regressions",
                        "improvements",
                        "benchmark_errors",
                        "missing_baseline",
                        "not_comparable",
                    )
                }  # fmt: skip
            ),
            "runs": array(ref("CIRun")),
            "report_url": string(),
        }
    ),
}
