"""Schemas of the modern surface (02): submission, results, runs, alerts, tokens, auth, errors."""

from __future__ import annotations

from conbench.api_models import (
    BASELINES,
    HARDWARE_SUMMARY,
    LESS_IS_BETTER,
    MACHINE_INTEGERS,
    MACHINE_STRINGS,
    MODERN_MACHINE_REQUIRED,
    NEXT_CURSOR,
    SHARED_SCHEMAS,
    SUBMISSION_RULES,
    SVS,
    SVS_TYPE,
    Schema,
    array,
    boolean,
    enum,
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
    timestamp,
)
from conbench.api_models_analysis import ANALYSIS_SCHEMAS

MODERN_SCHEMAS: dict[str, Schema] = {
    "Problem": obj(
        {
            "title": string("The HTTP reason phrase."),
            "status": integer(),
            "detail": string("What went wrong; the texts in the API reference are exact."),
            "errors": array(
                obj(
                    {
                        "message": string(),
                        "location": string(examples=["body.stats.data[1]"]),
                        "value": {"description": "The offending value."},
                    },
                    optional=("value",),
                )
            ),
        },
        "An error (`application/problem+json`).",
        optional=("errors",),
    ),
    "ResultSubmission": obj(
        {
            **submission_properties("MachineInfo"),
            "submission_key": string(
                "Idempotency key: a replay with the same body answers the original result.",
                minLength=1,
                maxLength=255,
            ),
        },
        "One benchmark result: the legacy payload with `batch_id` optional, a relaxed "
        "`machine_info` and an optional `submission_key`. Exactly one of `machine_info` and "
        "`cluster_info`; at least one of `stats` and `error`.",
        optional=tuple(
            k
            for k in submission_properties("MachineInfo")
            if k not in ("run_id", "timestamp", "tags", "context", "github")
        )
        + ("submission_key",),
        closed=True,
        **SUBMISSION_RULES,
    ),
    "MachineInfo": machine_info(
        MODERN_MACHINE_REQUIRED, "Five keys are required; missing others are stored as NULL."
    ),
    "ResultCreated": obj(
        {"id": string(), "run_id": string(), "history_fingerprint": string()},
        "The stored result (or, on a replay, the original one).",
    ),
    "BulkResultCreated": obj(
        {
            "results": array(
                obj(
                    {
                        "id": string(),
                        "run_id": string(),
                        "history_fingerprint": string(),
                        "replayed": boolean("True when a submission key matched a stored result."),
                    }
                ),
                "One entry per submitted object, in request order.",
            )
        }
    ),
    "ResultDetail": obj(
        {
            "id": string(),
            "run_id": string(),
            "run_tags": obj({}, additionalProperties=string()),
            "run_reason": nullable(string()),
            "batch_id": nullable(string()),
            "timestamp": timestamp(),
            "name": string("Benchmark name."),
            "tags": free("Case tags without `name`."),
            "case_id": string(),
            "context": free(),
            "context_id": string(),
            "info": free(),
            "info_id": string(),
            "hardware": ref("HardwareDetail"),
            "commit": nullable(ref("CommitDetail")),
            "commit_repo_url": nullable(string()),
            "history_fingerprint": string(),
            "unit": nullable(string()),
            "less_is_better": LESS_IS_BETTER,
            "single_value_summary": SVS,
            "single_value_summary_type": SVS_TYPE,
            "failed": boolean("The result carries an error or a partial `data`."),
            "stats": ref("ResultStats"),
            "error": nullable(free()),
            "validation": nullable(free()),
            "optional_benchmark_info": nullable(free()),
            "change_annotations": free(),
            "submission_key": nullable(string()),
            "links": obj(
                {
                    "self": string(examples=["/results/<id>"]),
                    "series": string(examples=["/series/<fingerprint>"]),
                    "history": string(examples=["/api/history/<id>"]),
                }
            ),
        }
    ),
    "ResultStats": obj(
        {
            "data": array(nullable(number())),
            "times": array(nullable(number())),
            "time_unit": nullable(string()),
            "iterations": nullable(integer()),
            **{
                k: nullable(number())
                for k in ("mean", "min", "max", "median", "stdev", "q1", "q3", "iqr")
            },
        }
    ),
    "HardwareDetail": obj(
        {
            "id": string(),
            "type": enum("machine", "cluster"),
            "name": string(),
            "hash": string("Compared across results; part of the history fingerprint."),
            **machine_columns(),
            "info": nullable(free()),
            "optional_info": nullable(free()),
        },
        "Machine columns for `machine`, `info` and `optional_info` for `cluster`.",
        optional=(*MACHINE_STRINGS, *MACHINE_INTEGERS, "gpu_product_names", "info")
        + ("optional_info",),
    ),
    "HardwareSummary": obj(
        {"id": string(), "type": enum("machine", "cluster"), "name": string(), "hash": string()}
    ),
    "CommitDetail": obj(
        {
            "id": string(),
            "sha": string(),
            "repository": string(),
            "url": nullable(string()),
            "parent_sha": nullable(string()),
            "branch": nullable(string()),
            "fork_point_sha": nullable(string()),
            "on_default_branch": nullable(boolean()),
            "message": nullable(string()),
            "author_name": nullable(string()),
            "author_login": nullable(string()),
            "author_avatar": nullable(string()),
            "timestamp": nullable(timestamp()),
        },
        "Commits GitHub could not describe have an empty `message` and nulls elsewhere.",
    ),
    "ResultList": obj({"results": array(ref("ResultDetail")), "next_cursor": NEXT_CURSOR}),
    "ChangeAnnotationsUpdate": obj(
        {
            "change_annotations": nullable(
                free("Merged into the stored object; a null value deletes that key.")
            )
        },
        closed=True,
    ),
    "RecentRun": obj(
        {
            "run_id": string(),
            "run_reason": nullable(string()),
            "run_tags": free(),
            "repository": nullable(string()),
            "commit": nullable(
                obj(
                    {
                        "sha": string(),
                        "message": nullable(string()),
                        "timestamp": nullable(timestamp()),
                        "branch": nullable(string()),
                        "on_default_branch": nullable(boolean()),
                    }
                )
            ),
            "hardware": HARDWARE_SUMMARY,
            "result_count": integer(),
            "errored_count": integer(),
            "first_result_timestamp": timestamp(),
            "last_result_timestamp": timestamp(),
            "batch_ids": array(string(), "At most 5, most recent first.", maxItems=5),
            "sample_result_id": string(),
            "links": obj({"run": string(), "ci_report": string()}),
        }
    ),
    "RecentRuns": obj(
        {
            "runs": array(ref("RecentRun"), "Ordered by `last_result_timestamp`, newest first."),
            "next_cursor": NEXT_CURSOR,
        }
    ),
    "AlertRuleInput": obj(
        {
            "name": string(),
            "repository": string(),
            "baseline": enum(*BASELINES),
            "threshold": number(exclusiveMinimum=0, default=5),
            "threshold_z": number(exclusiveMinimum=0, default=5),
            "run_reason": nullable(string("When set, only runs with this reason are considered.")),
            "enabled": boolean(default=True),
        },
        optional=("baseline", "threshold", "threshold_z", "run_reason", "enabled"),
        closed=True,
    ),
    "AlertRule": obj(
        {
            "id": string(),
            "user_id": string(),
            "name": string(),
            "repository": string(),
            "baseline": enum(*BASELINES),
            "threshold": number(),
            "threshold_z": number(),
            "run_reason": string(),
            "enabled": boolean(),
            "state": enum("inactive", "open"),
            "created_at": timestamp(),
            "updated_at": timestamp(),
            "last_evaluated_at": timestamp(),
        },
        optional=("run_reason", "last_evaluated_at"),
    ),
    "AlertRuleList": obj({"rules": array(ref("AlertRule"))}),
    "AlertEvent": obj(
        {
            "id": string(),
            "rule_id": string(),
            "kind": enum("opened", "resolved"),
            "status": ref("CIReportStatus"),
            "status_reason": string(),
            "run_id": string(),
            "commit_sha": string(),
            "repository": string(),
            "report_url": string(),
            "summary": free("The alert view's summary counters."),
            "created_at": timestamp(),
        },
        optional=("run_id", "commit_sha"),
    ),
    "AlertEventList": obj({"events": array(ref("AlertEvent"), "Newest first.")}),
    "TokenCreate": obj({"name": string(minLength=1)}, closed=True),
    "Token": obj(
        {
            "id": string(),
            "name": string(),
            "token": string("The plaintext token, shown only this once."),
            "prefix": string("The first 8 characters."),
            "created_at": timestamp(),
        }
    ),
    "TokenInfo": obj(
        {
            "id": string(),
            "name": string(),
            "prefix": string(),
            "created_at": timestamp(),
            "last_used_at": timestamp(),
            "revoked_at": timestamp(),
        },
        optional=("last_used_at", "revoked_at"),
    ),
    "TokenList": obj({"tokens": array(ref("TokenInfo"), "Own tokens, newest first.")}),
    "CliExchange": obj(
        {"code": string(), "name": string(default="cli token")}, optional=("name",), closed=True
    ),
    "Capabilities": obj(
        {
            k: boolean()
            for k in (
                "signed_in",
                "auth_disabled",
                "can_write_results",
                "oidc_enabled",
                "legacy_login_enabled",
            )
        }  # fmt: skip
    ),
    "CurrentUser": obj({"id": string(), "email": string(), "name": string()}),
    **ANALYSIS_SCHEMAS,
    **SHARED_SCHEMAS,
}
