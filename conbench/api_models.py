"""The vocabulary of the API declarations, and the shapes both surfaces share.

Models and operations are declared once: schemas in `api_models_modern`, `api_models_analysis` and
`api_models_legacy`, operations in `api_operations`; `conbench.openapi` joins them with the route
table. Schemas are JSON Schema 2020-12 (the OpenAPI 3.1 dialect: nullable is `["string", "null"]`);
the 3.0 documents are derived by `conbench.openapi.downgrade_to_30`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Schema = dict[str, Any]

AUTH_LEVELS = ("public", "write", "user", "session")
# The errors an auth level adds to every operation that declares it (02 §12).
AUTH_ERRORS: dict[str, dict[int, str]] = {
    "public": {},
    "write": {401: "authentication required"},
    "user": {401: "authentication required", 403: "user-attributed authentication required"},
    "session": {401: "A valid session cookie is required; bearer tokens do not count."},
}

# Descriptions of path segments, shared by every route that names them.
PATH_PARAMETERS = {
    "id": "The entity's id.",
    "run_id": "The run id (any string a submitter chose).",
    "benchmark_result_id": "A benchmark result id.",
    "ids": "`<baseline>...<contender>`: two ids joined by three dots.",
}


@dataclass(frozen=True)
class Param:
    """A query (or header) parameter; path parameters come from the route template."""

    name: str
    schema: Schema
    description: str
    required: bool = False
    location: str = "query"


@dataclass(frozen=True)
class Response:
    """A response with a body (`schema`) or without; `headers` are (name, description) pairs."""

    description: str
    schema: Schema | None = None
    media: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Operation:
    """One method on one path. A response given as a plain string is an error of the surface's
    error shape (4xx/5xx) or a body-less success (204, 302, 308) with that description."""

    operation_id: str
    summary: str
    tag: str
    auth: str
    responses: dict[int, Response | str]
    params: tuple[Param, ...] = ()
    body: Schema | None = None
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # more operation fields, e.g. deprecated

    def __post_init__(self) -> None:
        assert self.auth in AUTH_LEVELS, self.auth


# Schema builders: small functions so the declarations read like the spec.


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def string(description: str = "", **kw: Any) -> Schema:
    return _typed("string", description, kw)


def integer(description: str = "", **kw: Any) -> Schema:
    return _typed("integer", description, kw)


def number(description: str = "", **kw: Any) -> Schema:
    return _typed("number", description, kw)


def boolean(description: str = "", **kw: Any) -> Schema:
    return _typed("boolean", description, kw)


def timestamp(description: str = "") -> Schema:
    return string(description, format="date-time")


def free(description: str = "") -> Schema:
    """An object whose keys are the submitter's own."""
    return _typed("object", description, {})


def enum(*values: str, description: str = "") -> Schema:
    return string(description, enum=list(values))


def array(items: Schema, description: str = "", **kw: Any) -> Schema:
    return _typed("array", description, {"items": items, **kw})


def nullable(schema: Schema) -> Schema:
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    kind = schema["type"]
    kinds = kind if isinstance(kind, list) else [kind]
    return {**schema, "type": [*kinds, "null"]}


def obj(
    properties: dict[str, Schema],
    description: str = "",
    *,
    optional: tuple[str, ...] = (),
    closed: bool = False,
    **kw: Any,
) -> Schema:
    """An object; every property is required unless listed in `optional`."""
    schema = _typed("object", description, {"properties": properties} if properties else {})
    required = [name for name in properties if name not in optional]
    if required:
        schema["required"] = required
    if closed:
        schema["additionalProperties"] = False
    schema.update(kw)
    return schema


def _typed(kind: str, description: str, kw: dict[str, Any]) -> Schema:
    schema: Schema = {"type": kind}
    if description:
        schema["description"] = description
    schema.update(kw)
    return schema


def page_size(maximum: int, default: int) -> Param:
    return Param(
        "page_size",
        integer(minimum=1, maximum=maximum, default=default),
        f"Results per page, 1..{maximum}.",
    )


CURSOR = Param("cursor", string(), "Opaque cursor from the previous page's `next_cursor`.")
THRESHOLD = Param(
    "threshold",
    number(exclusiveMinimum=0, default=5),
    "Pairwise percent-change threshold; finite, greater than zero.",
)
THRESHOLD_Z = Param(
    "threshold_z",
    number(exclusiveMinimum=0, default=5),
    "Lookback z-score threshold; finite, greater than zero.",
)
NEXT_CURSOR = nullable(string("Cursor of the next page; set exactly when this page is full."))

# -- shapes shared by both surfaces ------------------------------------------------------------

MACHINE_STRINGS = ("architecture_name", "kernel_name", "os_name", "os_version", "cpu_model_name")
MACHINE_INTEGERS = (
    "cpu_l1d_cache_bytes", "cpu_l1i_cache_bytes", "cpu_l2_cache_bytes", "cpu_l3_cache_bytes",
    "cpu_core_count", "cpu_thread_count", "cpu_frequency_max_hz", "memory_bytes", "gpu_count",
)  # fmt: skip
MODERN_MACHINE_REQUIRED = (
    "name",
    "cpu_core_count",
    "cpu_thread_count",
    "memory_bytes",
    "gpu_count",
)


def machine_info(required: tuple[str, ...], description: str) -> Schema:
    """The submitted `machine_info`. Integers may arrive as decimal-integer strings (benchadapt
    sends them so) or as non-integral numbers, which are truncated toward zero."""
    whole = {"type": ["number", "string"], "pattern": r"^-?\d+$", "description": "An integer."}
    props: dict[str, Schema] = {"name": string()}
    props.update({name: string() for name in MACHINE_STRINGS})
    props.update({name: dict(whole) for name in MACHINE_INTEGERS})
    props["gpu_product_names"] = array(string())
    optional = tuple(name for name in props if name not in required)
    return obj(props, description, optional=optional, closed=True)


def machine_columns() -> dict[str, Schema]:
    """Stored machine columns as responses show them (NULL where a submission left one out)."""
    props: dict[str, Schema] = {name: nullable(string()) for name in MACHINE_STRINGS}
    props.update({name: nullable(integer()) for name in MACHINE_INTEGERS})
    props["gpu_product_names"] = nullable(array(string()))
    return props


def submission_properties(machine: str) -> dict[str, Schema]:
    """The keys of a submitted result (01 §5.2); the modern body adds `submission_key`."""
    return {
        "run_id": string("Groups results into a run."),
        "batch_id": string("Groups results into a batch."),
        "timestamp": timestamp("When the benchmark ran; a naive value means UTC."),
        "tags": obj(
            {"name": string("The benchmark name.")},
            "Case tags; `name` is the benchmark, the other keys the case permutation. Numbers "
            "and booleans become strings; empty and null values are dropped.",
            additionalProperties={"type": ["string", "number", "boolean", "null"]},
        ),
        "context": free("Tags that must stay constant for results to be comparable."),
        "github": ref("GitHubInfo"),
        "machine_info": ref(machine),
        "cluster_info": ref("ClusterInfo"),
        "stats": ref("StatsSubmission"),
        "error": free("Present when the benchmark failed; stored verbatim."),
        "run_tags": obj({}, "Run tags (string values).", additionalProperties=string()),
        "run_name": string("Copied into `run_tags.name` when that is absent."),
        "run_reason": string("Why the run happened, e.g. `commit` or `pull request`."),
        "info": free("Free metadata."),
        "optional_benchmark_info": free(),
        "validation": free(),
        "change_annotations": free("Annotations such as `begins_distribution_change`."),
    }


SUBMISSION_RULES: Schema = {
    "oneOf": [{"required": ["machine_info"]}, {"required": ["cluster_info"]}],
    "anyOf": [{"required": ["stats"]}, {"required": ["error"]}],
}

SHARED_SCHEMAS: dict[str, Schema] = {
    "Ping": obj(
        {
            "date": string(examples=["Mon, 01 Jan 2024 00:00:00 UTC"]),
            "alembic_version": string("Legacy Alembic revision read at startup, or `none`."),
            "commit": string("Build commit of the server."),
            "schema_version": nullable(integer("Migration ledger version read at startup.")),
        },
        "The process is up; answered without touching the database.",
    ),
    "GitHubInfo": obj(
        {
            "repository": string(
                "`https://github.com/<org>/<repo>`; a `git@github.com:` prefix is rewritten."
            ),
            "commit": string("Commit SHA; when set, the result is attached to that commit."),
            "pr_number": {"type": ["integer", "string", "null"]},
            "branch": nullable(string("`org:branch`.")),
        },
        optional=("commit", "pr_number", "branch"),
        closed=True,
    ),
    "ClusterInfo": obj({"name": string(), "info": free(), "optional_info": free()}, closed=True),
    "StatsSubmission": obj(
        {
            "data": array(
                {"type": ["number", "string", "null"]},
                "Measured values; numeric strings are accepted. A null marks a partial result.",
            ),
            "unit": string("`B`, `B/s`, `s`, `ns` or `i/s` (`b/s` is read as `B/s`)."),
            "times": array({"type": ["number", "string", "null"]}),
            "time_unit": string(),
            "iterations": integer(),
            **{k: number() for k in ("min", "max", "mean", "median", "stdev", "q1", "q3", "iqr")},
        },
        "Aggregates are recomputed from `data` for successful results.",
        optional=("times", "time_unit", "iterations", "min", "max", "mean", "median", "stdev")
        + ("q1", "q3", "iqr"),
        closed=True,
    ),
    "PairwiseAnalysis": obj(
        {
            "percent_change": number("Rounded to 4 significant figures; positive = improvement."),
            "percent_threshold": number(),
            "regression_indicated": boolean(),
            "improvement_indicated": boolean(),
        }
    ),
    "LookbackZScore": obj(
        {
            "z_threshold": number(),
            "z_score": number("Rounded to 4 significant figures; positive = improvement."),
            "regression_indicated": boolean(),
            "improvement_indicated": boolean(),
        }
    ),
}

SERIES_STATUS = ("regressed", "improved", "stable", "insufficient")
CI_ROW_STATUS = SERIES_STATUS + ("errored", "missing_baseline", "not_comparable")
CI_REPORT_STATUS = ("success", "failure", "action_required", "skipped")
BASELINES = ("fork_point", "parent", "latest_default")
BASELINE_ERROR_CODES = (
    "unknown_parent", "unknown_fork_point", "default_branch_run", "unknown_latest_default",
    "unknown_baseline_candidate", "no_baseline_run", "explicit_baseline_run_not_found",
    "ambiguous_baseline_run", "missing_commit_metadata",
)  # fmt: skip

SVS_TYPE = enum("min", "max", "n/a", description="Which repetition the SVS is.")
SVS = nullable(number("Single value summary, full precision; null when the result failed."))
HARDWARE_SUMMARY = ref("HardwareSummary")
LESS_IS_BETTER = nullable(boolean("Null when the unit is unknown."))
