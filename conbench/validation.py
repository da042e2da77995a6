"""Result ingestion without I/O: a parsed JSON body -> a checked, normalized ResultInput.

Pre-processing (01 §5.1), the schema (`conbench.validation_schema`) and the pure create semantics
(01 §5.3 steps 1, 2 and 5); the write path takes it from there.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from conbench.aggregates import (
    AGGREGATE_KEYS,
    InvalidUnit,
    compute_aggregates,
    normalize_unit,
    samples_look_like_error,
)
from conbench.canonical import payload_sha256
from conbench.identity import cluster_hash, machine_hash
from conbench.validation_fields import INVALID_INPUT, Problems, Reader, as_document
from conbench.validation_schema import read_result, read_valid_result

TAGS_NAME_REQUIRED = (
    "`name` property must be present in `tags` (the name of the conceptual benchmark)"
)
EMPTY_BODY = "Empty request body."
PARTIAL_ERROR = {"status": "Partial result: not all iterations completed"}
AGGREGATES_OVERFLOW = (
    "stats: data values too large to aggregate (an aggregate such as the mean overflows)"
)


class ValidationFailed(Exception):
    """Schema errors in both shapes: `legacy_errors` (marshmallow-style nested dict), `problems`
    (modern `{message, location, value}` list) and `detail` (one line for the modern 422)."""

    def __init__(self, legacy_errors: dict, problems: list[dict], detail: str) -> None:
        super().__init__(detail)
        self.legacy_errors, self.problems, self.detail = legacy_errors, problems, detail

    @classmethod
    def from_problems(cls, problems: Problems) -> "ValidationFailed":
        return cls(problems.legacy(), problems.modern(), problems.detail())


class BusinessRuleError(Exception):
    """A create rule of 01 §5.3 (tags, unit): legacy 400 `{"description": message}`, modern 422."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Machine:
    """A machine as stored; modern submissions may leave all but the five hash inputs NULL."""

    name: str
    architecture_name: str | None
    kernel_name: str | None
    os_name: str | None
    os_version: str | None
    cpu_model_name: str | None
    cpu_l1d_cache_bytes: int | None
    cpu_l1i_cache_bytes: int | None
    cpu_l2_cache_bytes: int | None
    cpu_l3_cache_bytes: int | None
    cpu_core_count: int
    cpu_thread_count: int
    cpu_frequency_max_hz: int | None
    memory_bytes: int
    gpu_count: int
    gpu_product_names: list[str]
    hash: str


@dataclass(frozen=True)
class Cluster:
    """A cluster; its hash covers `name` and `info` only."""

    name: str
    info: dict
    optional_info: dict
    hash: str


@dataclass(frozen=True)
class GitHub:
    """The commit reference; `repository` is already normalized."""

    repository: str
    commit: str | None
    pr_number: int | None
    branch: str | None


@dataclass(frozen=True)
class ResultInput:
    """Everything the write path needs; `timestamp` is naive UTC with microseconds."""

    run_id: str
    batch_id: str | None
    timestamp: datetime
    benchmark_name: str
    case_tags: dict[str, str]
    context: dict
    info: dict
    github: GitHub
    hardware: Machine | Cluster
    unit: str | None
    time_unit: str | None
    iterations: int | None
    data: list[float | None]
    times: list[float | None]
    aggregates: dict[str, float | None]
    error: dict | None
    run_tags: dict[str, str]
    run_reason: str | None
    validation: dict | None
    optional_benchmark_info: dict | None
    change_annotations: dict
    submission_key: str | None
    payload_sha256: str | None


def _blank_to_null(body: dict) -> dict:
    return {k: None if isinstance(v, str) and not v.strip() else v for k, v in body.items()}


def _not_an_object(value: Any) -> ValidationFailed:
    problems = Problems()
    problems.add(("_schema",), INVALID_INPUT, value)
    return ValidationFailed.from_problems(problems)


def normalize_tags(tags: dict) -> tuple[str, dict[str, str]]:
    """Split `tags` into benchmark name and case tags (01 §5.3 step 1); raises BusinessRuleError."""
    if "name" not in tags:
        raise BusinessRuleError(TAGS_NAME_REQUIRED)
    case: dict[str, str] = {}
    for key, value in tags.items():
        if key == "":
            raise BusinessRuleError("tags: zero-length string as key is not allowed")
        if value == "" or value is None:
            continue
        if isinstance(value, bool | int | float):
            value = str(value)
        elif not isinstance(value, str):
            # The braces are literal: upstream forgot the f-prefix, and clients may match the text.
            raise BusinessRuleError(
                "tags: bad value type for key `{key}`, JSON object and array is not allowed`"
            )
        case[key] = value
    if "name" not in case:
        # Upstream crashed (500) when `name` was "" or null; the missing-name message fits.
        raise BusinessRuleError(TAGS_NAME_REQUIRED)
    return case.pop("name"), case


def _stats_branch(stats: dict | None, error: dict | None, error_given: bool) -> dict[str, Any]:
    """01 §5.3 step 2: errored and partial results keep the user's stats; successes recompute."""
    if stats is None:
        return {"unit": None, "time_unit": None, "iterations": None, "data": [], "times": [],
                "aggregates": dict.fromkeys(AGGREGATE_KEYS), "error": error}  # fmt: skip
    row = {key: stats[key] for key in ("unit", "time_unit", "iterations", "data", "aggregates")}
    row["times"] = stats["times"] or []
    if error_given:
        return row | {"error": error}
    if samples_look_like_error(stats["data"]):
        return row | {"error": dict(PARTIAL_ERROR)}
    try:
        unit = normalize_unit(stats["unit"])
    except InvalidUnit as exc:
        raise BusinessRuleError(str(exc)) from None
    aggregates = compute_aggregates(stats["data"])
    if any(value is not None and value - value != 0.0 for value in aggregates.values()):
        raise BusinessRuleError(AGGREGATES_OVERFLOW)  # neither JSON nor the API can carry it
    return row | {"unit": unit, "aggregates": aggregates, "error": None}


def prepare_result(body: object, *, modern: bool, digest: str | None = None) -> ResultInput:
    """Pre-processing (01 §5.1), schema (01 §5.2 / 02 §3), then the pure create semantics (01 §5.3
    steps 1, 2 and 5): raises ValidationFailed (schema) and BusinessRuleError (tags, unit).
    `digest` is the body's payload_sha256 when the caller computed it already."""
    if not isinstance(body, dict):
        raise _not_an_object(body)
    cleaned = _blank_to_null(body)
    fields = read_valid_result(cleaned, modern)
    if fields is None:
        problems = Problems()
        fields = read_result(problems, cleaned, modern)
        if problems:
            raise ValidationFailed.from_problems(problems)
    name, case_tags = normalize_tags(fields["tags"])
    stats = _stats_branch(fields["stats"], fields["error"], "error" in cleaned)
    run_tags = dict(fields["run_tags"] or {})
    if fields["run_name"] is not None and "name" not in run_tags:
        run_tags["name"] = fields["run_name"]
    key = fields["submission_key"]
    return ResultInput(
        run_id=fields["run_id"],
        batch_id=fields["batch_id"],
        timestamp=fields["timestamp"],
        benchmark_name=name,
        case_tags=case_tags,
        context=fields["context"],
        info=fields["info"] or {},
        github=GitHub(**fields["github"]),
        hardware=_hardware(fields["machine"], fields["cluster"]),
        run_tags=run_tags,
        run_reason=fields["run_reason"],
        validation=fields["validation"],
        optional_benchmark_info=fields["optional_benchmark_info"],
        change_annotations=_without_nulls(fields["change_annotations"] or {}),
        submission_key=key,
        payload_sha256=(digest or payload_sha256(body)) if key is not None else None,
        **stats,
    )


def _hardware(machine: dict | None, cluster: dict | None) -> Machine | Cluster:
    if cluster is not None:
        return Cluster(**cluster, hash=cluster_hash(cluster["name"], cluster["info"]))
    assert machine is not None
    inputs = ("name", "gpu_count", "cpu_core_count", "cpu_thread_count", "memory_bytes")
    return Machine(**machine, hash=machine_hash(*(machine[key] for key in inputs)))


def _without_nulls(annotations: dict) -> dict:
    return {key: value for key, value in annotations.items() if value is not None}


def validate_change_annotations_put(body: object, *, modern: bool) -> dict | None:
    """The PUT body of 01 §6 / 02 §4.2: the change_annotations object to merge, or None for a modern
    no-op (`null` or absent); raises ValidationFailed."""
    if not isinstance(body, dict):
        raise _not_an_object(body)
    problems = Problems()
    if not modern and not body:
        problems.add(("_errors",), EMPTY_BODY)
        raise ValidationFailed.from_problems(problems)
    reader = Reader(problems, body)
    reader.reject_unknown(frozenset(("change_annotations",)))
    annotations = reader.field("change_annotations", as_document, nullable=modern)
    if problems:
        raise ValidationFailed.from_problems(problems)
    return annotations


def merge_change_annotations(stored: dict, new: dict) -> dict:
    """New keys over stored keys, then keys whose value is null are dropped."""
    return _without_nulls({**(stored or {}), **new})
