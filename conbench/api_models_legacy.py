"""Schemas of the legacy v1 surface (01), served as OpenAPI 3.0 at /api/docs.json."""

from __future__ import annotations

from conbench.api_models import (
    LESS_IS_BETTER,
    MACHINE_INTEGERS,
    MACHINE_STRINGS,
    SHARED_SCHEMAS,
    SUBMISSION_RULES,
    Schema,
    array,
    free,
    integer,
    machine_columns,
    machine_info,
    nullable,
    number,
    obj,
    ref,
    string,
    submission_properties,
)

LINKS = obj({"list": string(), "self": string()}, "Absolute URLs.")
NEXT_PAGE = obj({"next_page_cursor": nullable(string("Set exactly when the page came back full."))})


def _page(item: str) -> Schema:
    return obj({"data": array(ref(item)), "metadata": NEXT_PAGE})


LEGACY_SCHEMAS: dict[str, Schema] = {
    "LegacyError": obj(
        {
            "code": integer(),
            "name": string("The HTTP reason phrase."),
            "description": {
                "type": ["string", "object"],
                "description": "A message, or for a rejected body field → messages, e.g. "
                '`{"run_id": ["Missing data for required field."]}`; `_schema` holds '
                "whole-object rules, `_errors` free-text errors.",
            },
        },
        "The HTTP error shape of the legacy surface.",
    ),
    "LegacyBusinessError": obj(
        {"description": string()}, "A rule of result creation or a throttle; no code or name."
    ),
    "LegacyIndex": obj(
        {
            "links": obj(
                {
                    k: string()
                    for k in (
                        "benchmarks",
                        "commits",
                        "contexts",
                        "docs",
                        "login",
                        "logout",
                        "info",
                        "hardware",
                        "ping",
                        "register",
                        "runs",
                        "users",
                    )
                }  # fmt: skip
            )
        }
    ),
    "LegacyResultSubmission": obj(
        submission_properties("LegacyMachineInfo"),
        "One benchmark result. Top-level blank strings are read as null. Exactly one of "
        "`machine_info` and `cluster_info`; at least one of `stats` and `error`.",
        optional=tuple(
            k
            for k in submission_properties("LegacyMachineInfo")
            if k not in ("run_id", "batch_id", "timestamp", "tags", "context", "github")
        ),
        closed=True,
        **SUBMISSION_RULES,
    ),
    "LegacyMachineInfo": machine_info(
        ("name", *MACHINE_STRINGS, *MACHINE_INTEGERS, "gpu_product_names"),
        "All 16 keys are required and non-null.",
    ),
    "LegacyResult": obj(
        {
            "id": string(),
            "run_id": string(),
            "run_tags": obj({}, additionalProperties=string()),
            "run_reason": nullable(string()),
            "commit_repo_url": nullable(string()),
            "batch_id": nullable(string()),
            "history_fingerprint": string(),
            "timestamp": string("`YYYY-MM-DDTHH:MM:SSZ`.", format="date-time"),
            "optional_benchmark_info": nullable(free()),
            "validation": nullable(free()),
            "change_annotations": free("Never null."),
            "stats": obj(
                {
                    "data": array(nullable(number())),
                    "times": array(nullable(number())),
                    "unit": nullable(string()),
                    "time_unit": nullable(string()),
                    "iterations": nullable(integer()),
                    **{
                        k: nullable(number())
                        for k in ("min", "max", "mean", "median", "stdev", "q1", "q3", "iqr")
                    },
                }
            ),
            "error": nullable(free()),
            "tags": obj({"name": string("The benchmark name.")}, additionalProperties=string()),
            "commit": nullable(ref("Commit")),
            "hardware": ref("Hardware"),
            "links": obj(
                {k: string() for k in ("list", "self", "info", "context", "run")}, "Absolute URLs."
            ),
        },
        "A result entity; the embedded commit and hardware carry no links.",
    ),
    "LegacyResultList": _page("LegacyResult"),
    "LegacyChangeAnnotations": obj(
        {"change_annotations": free("Merged into the stored object; null values delete keys.")},
        closed=True,
    ),
    "Commit": obj(
        {
            "id": string(),
            "sha": string(),
            "branch": nullable(string()),
            "fork_point_sha": nullable(string()),
            "url": nullable(string("`<repository>/commit/<sha>`.")),
            "parent_sha": nullable(string()),
            "repository": string(),
            "message": nullable(string()),
            "author_name": nullable(string()),
            "author_login": nullable(string()),
            "author_avatar": nullable(string()),
            "timestamp": nullable(string("Naive ISO 8601 (UTC).")),
            "links": obj(
                {"list": string(), "self": string(), "parent": nullable(string())},
                "Absent when embedded; `parent` only on `/api/commits/{id}/`.",
                optional=("parent",),
            ),
        },
        "Commits GitHub could not describe have an empty `message` and `author_name`.",
        optional=("links",),
    ),
    "Hardware": {"oneOf": [ref("MachineHardware"), ref("ClusterHardware")]},
    "MachineHardware": obj(
        {
            "id": string(),
            "name": string(),
            "type": {"const": "machine"},
            **machine_columns(),
            "links": LINKS,
        },
        "Absent `links` when embedded.",
        optional=("links",),
    ),
    "ClusterHardware": obj(
        {
            "id": string(),
            "name": string(),
            "type": {"const": "cluster"},
            "info": free(),
            "optional_info": free(),
        }
    ),
    "Run": obj(
        {
            "id": string("The run id."),
            "tags": free("The run tags."),
            "reason": nullable(string()),
            "timestamp": string(format="date-time"),
            "commit": nullable(ref("Commit")),
            "hardware": ref("Hardware"),
        },
        "Taken from the run's result with the lowest id.",
    ),
    "CandidateBaselineRun": obj(
        {
            "error": nullable(string()),
            "baseline_run_id": nullable(string()),
            "commits_skipped": nullable(array(string())),
        }
    ),
    "RunWithBaselines": {
        "allOf": [
            ref("Run"),
            obj(
                {
                    "candidate_baseline_runs": obj(
                        {
                            k: ref("CandidateBaselineRun")
                            for k in ("parent", "fork_point", "latest_default")
                        }
                    )
                }
            ),
        ]
    },
    "LegacyRunList": _page("Run"),
    "LegacyComparisonSide": obj(
        {
            "benchmark_result_id": string(),
            "benchmark_name": string(),
            "case_permutation": string(examples=["dataset=uniform, size=10"]),
            "language": string("`context.benchmark_language`, or `unknown`."),
            "single_value_summary": nullable(number("4 significant figures.")),
            "error": nullable(free()),
            "batch_id": nullable(string()),
            "run_id": string(),
            "tags": free(),
            "result": free("The result entity without tags, commit, hardware and links."),
        }
    ),
    "LegacyComparison": obj(
        {
            "unit": nullable(string()),
            "history_fingerprint": nullable(string()),
            "less_is_better": LESS_IS_BETTER,
            "baseline": nullable(ref("LegacyComparisonSide")),
            "contender": nullable(ref("LegacyComparisonSide")),
            "analysis": obj(
                {
                    "pairwise": nullable(ref("PairwiseAnalysis")),
                    "lookback_z_score": nullable(ref("LookbackZScore")),
                }
            ),
        }
    ),
    "LegacyComparisonList": _page("LegacyComparison"),
    "HistorySample": obj(
        {
            "benchmark_result_id": string(),
            "history_fingerprint": string(),
            "case_id": string(),
            "context_id": string(),
            "mean": nullable(number()),
            "single_value_summary": nullable(number()),
            "single_value_summary_type": string(),
            "data": array(nullable(number())),
            "times": array(nullable(number())),
            "unit": string(),
            "hardware_hash": string(),
            "repository": string(),
            "commit_hash": string(),
            "commit_msg": nullable(string()),
            "commit_timestamp": string("Naive ISO 8601."),
            "result_timestamp": string("Naive ISO 8601."),
            "run_name": nullable(string()),
            "run_tags": free(),
            "zscorestats": obj(
                {
                    "begins_distribution_change": {"type": "boolean"},
                    "segment_id": number(),
                    "rolling_mean_excluding_this_commit": nullable(number()),
                    "rolling_mean": nullable(number()),
                    "residual": nullable(number()),
                    "rolling_stddev": number("0.0 where undefined."),
                    "is_outlier": {"type": "boolean"},
                }
            ),
        }
    ),
    "HistorySampleList": _page("HistorySample"),
    "TagEntity": obj(
        {"id": string(), "links": LINKS},
        "A context or info row: its tags at top level next to `id` and `links`.",
    ),
    "User": obj({"id": string(), "email": string(), "name": string(), "links": LINKS}),
    "UserCreate": obj(
        {
            "email": string(format="email"),
            "name": string(),
            "password": string("Accepted and ignored."),
        },
        optional=("password",),
        closed=True,
    ),
    "UserUpdate": obj(
        {
            "email": string(format="email"),
            "name": string(),
            "password": string("Accepted and ignored."),
        },
        optional=("email", "name", "password"),
        closed=True,
        minProperties=1,
    ),
    "LoginRequest": obj(
        {"email": string(format="email"), "password": string("A user API token.")}, closed=True
    ),
    "Ping": SHARED_SCHEMAS["Ping"],
    "GitHubInfo": SHARED_SCHEMAS["GitHubInfo"],
    "ClusterInfo": SHARED_SCHEMAS["ClusterInfo"],
    "StatsSubmission": SHARED_SCHEMAS["StatsSubmission"],
    "PairwiseAnalysis": SHARED_SCHEMAS["PairwiseAnalysis"],
    "LookbackZScore": SHARED_SCHEMAS["LookbackZScore"],
}
