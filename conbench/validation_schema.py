"""The result-create schema (01 §5.2, modern differences of 02 §3): body -> plain checked values.

Legacy whole-object (`_schema`) rules run only when every field is valid, as marshmallow's
`skip_on_field_errors` did; the modern route checks everything at once.
"""

from typing import Any

from conbench.aggregates import AGGREGATE_KEYS
from conbench.identity import normalize_repository
from conbench.validation_fields import (
    INT32,
    INT64,
    NOT_NULL,
    FieldError,
    Problems,
    Reader,
    as_datetime,
    as_document,
    as_integer,
    as_mapping,
    as_number,
    as_string,
    bounded,
    has_special_number,
)

HARDWARE_MISSING = "Either machine_info or cluster_info field is required"
MODERN_HARDWARE_MISSING = "either machine_info or cluster_info field is required"
HARDWARE_BOTH = "machine_info and cluster_info fields can not be used at the same time"
STATS_OR_ERROR = "Either stats or error field is required"
MODERN_STATS_OR_ERROR = "either stats or error field is required"
MODERN_ERROR_NULL = "error: null is not allowed; omit the field or send an object"
RUN_TAGS_KEYS = "run_tags keys must be non-empty strings"
RUN_TAGS_VALUES = "run_tags values must be strings"
COMMIT_EMPTY = "'commit' must be a non-empty string"

TOP_LEVEL_KEYS = frozenset(
    (
        *("run_id", "run_tags", "run_name", "run_reason", "batch_id", "timestamp"),
        *("machine_info", "cluster_info", "stats", "error", "tags", "context", "github"),
        *("info", "optional_benchmark_info", "validation", "change_annotations"),
    )
)
STATS_KEYS = frozenset(("data", "unit", "times", "time_unit", "iterations", *AGGREGATE_KEYS))
GITHUB_KEYS = frozenset(("repository", "commit", "pr_number", "branch"))
CLUSTER_KEYS = frozenset(("name", "info", "optional_info"))
MACHINE_STRINGS = (
    *("name", "architecture_name", "kernel_name", "os_name", "os_version", "cpu_model_name"),
)
# Column ranges of the hardware table (integer / bigint): overflow is a 4xx, not a database error.
MACHINE_INTEGERS = {
    "cpu_l1d_cache_bytes": INT32,
    "cpu_l1i_cache_bytes": INT32,
    "cpu_l2_cache_bytes": INT32,
    "cpu_l3_cache_bytes": INT32,
    "cpu_core_count": INT32,
    "cpu_thread_count": INT32,
    "cpu_frequency_max_hz": INT64,
    "memory_bytes": INT64,
    "gpu_count": INT32,
}
MACHINE_KEYS = frozenset((*MACHINE_STRINGS, *MACHINE_INTEGERS, "gpu_product_names"))
MODERN_MACHINE_REQUIRED = frozenset(
    ("name", "cpu_core_count", "cpu_thread_count", "memory_bytes", "gpu_count")
)
SUBMISSION_KEY_MAX = 255


def _read_stats(reader: Reader) -> dict | None:
    stats = reader.nested("stats")
    if stats is None:
        return None
    stats.reject_unknown(STATS_KEYS)
    return {
        "data": stats.list_field("data", as_number, required=True, items_nullable=True),
        "unit": stats.field("unit", as_string, required=True),
        "times": stats.list_field("times", as_number, items_nullable=True),
        "time_unit": stats.field("time_unit", as_string),
        "iterations": stats.field("iterations", bounded(*INT32)),
        "aggregates": {key: stats.field(key, as_number) for key in AGGREGATE_KEYS},
    }


def _read_github(reader: Reader, modern: bool) -> dict | None:
    github = reader.nested("github", required=True)
    if github is None:
        return None
    # Upstream's pre_load: an empty pr_number or branch means null.
    github.obj = {
        k: None if k in ("pr_number", "branch") and v == "" else v for k, v in github.obj.items()
    }
    before = len(github.problems.items)
    github.reject_unknown(GITHUB_KEYS)
    values = {
        "repository": github.field("repository", as_string, required=True),
        "commit": github.field("commit", as_string),
        "pr_number": github.field("pr_number", as_integer, nullable=True),
        "branch": github.field("branch", as_string, nullable=True),
    }
    if len(github.problems.items) > before:
        return None
    try:
        values["repository"] = normalize_repository(values["repository"])
    except ValueError as exc:
        where = "repository" if modern else "_schema"
        github.problems.add((*github.path, where), str(exc), github.obj["repository"])
        return None
    if values["commit"] == "":
        github.problems.add((*github.path, "commit" if modern else "_schema"), COMMIT_EMPTY, "")
        return None
    return values


def _read_machine(reader: Reader, modern: bool) -> dict | None:
    machine = reader.nested("machine_info")
    if machine is None:
        return None
    before = len(machine.problems.items)
    machine.reject_unknown(MACHINE_KEYS)
    values: dict[str, Any] = {}
    for key in (*MACHINE_STRINGS, *MACHINE_INTEGERS):
        required = not modern or key in MODERN_MACHINE_REQUIRED
        check = bounded(*MACHINE_INTEGERS[key]) if key in MACHINE_INTEGERS else as_string
        values[key] = machine.field(key, check, required=required, nullable=not required)
    names = machine.list_field(
        "gpu_product_names", as_string, required=not modern, nullable=modern, items_nullable=False
    )
    values["gpu_product_names"] = names or []
    return None if len(machine.problems.items) > before else values


def _read_cluster(reader: Reader) -> dict | None:
    cluster = reader.nested("cluster_info")
    if cluster is None:
        return None
    cluster.reject_unknown(CLUSTER_KEYS)
    values = {
        "name": cluster.field("name", as_string, required=True),
        "info": cluster.field("info", as_document, required=True),
        "optional_info": cluster.field("optional_info", as_document, required=True),
    }
    return None if None in values.values() else values


def _submission_key(value: Any) -> str:
    key = as_string(value)
    if not 1 <= len(key) <= SUBMISSION_KEY_MAX:
        raise FieldError(f"Length must be between 1 and {SUBMISSION_KEY_MAX}.")
    return key


def _check_whole_body(problems: Problems, body: dict, run_tags: dict | None, modern: bool) -> None:
    """The `_schema` rules, in upstream's validator order (alphabetical by method name)."""
    hardware = ("machine_info" in body, "cluster_info" in body)
    if hardware == (False, False):
        problems.add(("_schema",), MODERN_HARDWARE_MISSING if modern else HARDWARE_MISSING)
    elif hardware == (True, True):
        problems.add(("_schema",), HARDWARE_BOTH)
    for key, value in (run_tags or {}).items():
        message = RUN_TAGS_KEYS if key == "" else None
        if message is None and not isinstance(value, str):
            message = RUN_TAGS_VALUES
        if message:
            problems.add(("run_tags", key) if modern else ("_schema",), message, value, message)
            break
    if "stats" not in body and "error" not in body:
        problems.add(("_schema",), MODERN_STATS_OR_ERROR if modern else STATS_OR_ERROR)


def read_result(problems: Problems, body: dict, modern: bool) -> dict[str, Any]:
    """Check every field of a pre-processed body; invalid or absent values come back as None."""
    reader = Reader(problems, body)
    reader.reject_unknown(TOP_LEVEL_KEYS | {"submission_key"} if modern else TOP_LEVEL_KEYS)
    error_null = MODERN_ERROR_NULL if modern else NOT_NULL
    fields: dict[str, Any] = {
        "run_id": reader.field("run_id", as_string, required=True),
        "run_tags": reader.field("run_tags", as_mapping),
        "run_name": reader.field("run_name", as_string),
        "run_reason": reader.field("run_reason", as_string),
        "batch_id": reader.field("batch_id", as_string, required=not modern, nullable=modern),
        "timestamp": reader.field("timestamp", as_datetime, required=True),
        "machine": _read_machine(reader, modern),
        "cluster": _read_cluster(reader),
        "stats": _read_stats(reader),
        "error": reader.field("error", as_document, null_message=error_null),
        "tags": reader.field("tags", as_mapping, required=True),
        "context": reader.field("context", as_document, required=True),
        "github": _read_github(reader, modern),
        "submission_key": reader.field("submission_key", _submission_key) if modern else None,
    }
    for key in ("info", "optional_benchmark_info", "validation", "change_annotations"):
        fields[key] = reader.field(key, as_document)
    if modern or not problems:
        _check_whole_body(problems, body, fields["run_tags"], modern)
    return fields


_MISSING = object()
_MODERN_TOP_LEVEL_KEYS = TOP_LEVEL_KEYS | {"submission_key"}


class _Invalid(Exception):
    """The fast reader met something it does not accept: read_result decides."""


def _opt(obj: dict, key: str, kind: type, *, nullable: bool = False) -> Any:
    """An optional value of exactly `kind` (None when absent, or null where `nullable`)."""
    value = obj.get(key, _MISSING)
    if value is _MISSING or (value is None and nullable):
        return None
    if type(value) is not kind:
        raise _Invalid
    return value


def _req(obj: dict, key: str, kind: type) -> Any:
    value = obj.get(key)
    if type(value) is not kind:
        raise _Invalid
    return value


def _int(value: Any, low: int, high: int) -> int:
    number = value if type(value) is int else as_integer(value)  # raises FieldError
    if not low <= number <= high:
        raise _Invalid
    return number


def _numbers(values: Any) -> list:
    if type(values) is not list:
        raise _Invalid
    return [None if v is None else as_number(v) for v in values]


def _fast_machine(machine: Any, modern: bool) -> dict:
    if type(machine) is not dict or not machine.keys() <= MACHINE_KEYS:
        raise _Invalid
    values: dict[str, Any] = {}
    for key in MACHINE_STRINGS:
        if not modern or key in MODERN_MACHINE_REQUIRED:
            values[key] = _req(machine, key, str)
        else:
            values[key] = _opt(machine, key, str, nullable=True)
    for key, (low, high) in MACHINE_INTEGERS.items():
        value = machine.get(key, _MISSING)
        if value is _MISSING or value is None:
            if not modern or key in MODERN_MACHINE_REQUIRED:
                raise _Invalid
            values[key] = None
        else:
            values[key] = _int(value, low, high)
    names = machine.get("gpu_product_names", _MISSING)
    if names is _MISSING or names is None:
        if not modern:
            raise _Invalid
        names = []
    elif type(names) is not list or any(type(n) is not str for n in names):
        raise _Invalid
    values["gpu_product_names"] = names
    return values


def _document(value: dict | None) -> dict | None:
    """A stored object as `as_document` takes it; a special number inside: read_result names it."""
    if value is not None and has_special_number(value):
        raise _Invalid
    return value


def _fast_cluster(cluster: Any) -> dict:
    if type(cluster) is not dict or not cluster.keys() <= CLUSTER_KEYS:
        raise _Invalid
    return {
        "name": _req(cluster, "name", str),
        "info": _document(_req(cluster, "info", dict)),
        "optional_info": _document(_req(cluster, "optional_info", dict)),
    }


def _fast_stats(stats: Any) -> dict:
    if type(stats) is not dict or not stats.keys() <= STATS_KEYS:
        raise _Invalid
    times = stats.get("times", _MISSING)
    if times is None:
        raise _Invalid
    iterations = stats.get("iterations", _MISSING)
    if iterations is None:
        raise _Invalid
    aggregates = {}
    for key in AGGREGATE_KEYS:
        value = stats.get(key, _MISSING)
        if value is None:
            raise _Invalid
        aggregates[key] = None if value is _MISSING else as_number(value)
    return {
        "data": _numbers(stats.get("data")),
        "unit": _req(stats, "unit", str),
        "times": None if times is _MISSING else _numbers(times),
        "time_unit": _opt(stats, "time_unit", str),
        "iterations": None if iterations is _MISSING else _int(iterations, *INT32),
        "aggregates": aggregates,
    }


def _fast_github(github: Any) -> dict:
    if type(github) is not dict or not github.keys() <= GITHUB_KEYS:
        raise _Invalid
    pr_number = github.get("pr_number")
    if pr_number == "":
        pr_number = None
    branch = github.get("branch")
    if branch == "":
        branch = None
    if pr_number is not None:
        pr_number = pr_number if type(pr_number) is int else as_integer(pr_number)
    if branch is not None and type(branch) is not str:
        raise _Invalid
    commit = _opt(github, "commit", str)
    if commit == "":
        raise _Invalid
    return {
        "repository": normalize_repository(_req(github, "repository", str)),  # raises ValueError
        "commit": commit,
        "pr_number": pr_number,
        "branch": branch,
    }


def read_valid_result(body: dict, modern: bool) -> dict[str, Any] | None:
    """read_result's fields of a body that has no problem at all, else None (read_result then
    names the problems). The common case without a Problems collector: several times faster."""
    try:
        return _read_valid(body, modern)
    except (_Invalid, FieldError, ValueError):
        return None


def _read_valid(body: dict, modern: bool) -> dict[str, Any]:
    if not body.keys() <= (_MODERN_TOP_LEVEL_KEYS if modern else TOP_LEVEL_KEYS):
        raise _Invalid
    machine = body.get("machine_info", _MISSING)
    cluster = body.get("cluster_info", _MISSING)
    if (machine is _MISSING) == (cluster is _MISSING):
        raise _Invalid
    if "stats" not in body and "error" not in body:
        raise _Invalid
    stats = body.get("stats", _MISSING)
    run_tags = _opt(body, "run_tags", dict)
    for key, value in (run_tags or {}).items():
        if key == "" or type(value) is not str:
            raise _Invalid
    key = _opt(body, "submission_key", str) if modern else None
    if key is not None and not 1 <= len(key) <= SUBMISSION_KEY_MAX:
        raise _Invalid
    timestamp = body.get("timestamp")
    return {
        "run_id": _req(body, "run_id", str),
        "run_tags": run_tags,
        "run_name": _opt(body, "run_name", str),
        "run_reason": _opt(body, "run_reason", str),
        "batch_id": _opt(body, "batch_id", str, nullable=True)
        if modern
        else _req(body, "batch_id", str),
        "timestamp": as_datetime(timestamp) if timestamp is not None else _fail(),
        "machine": None if machine is _MISSING else _fast_machine(machine, modern),
        "cluster": None if cluster is _MISSING else _fast_cluster(cluster),
        "stats": None if stats is _MISSING else _fast_stats(stats),
        "error": _document(_opt(body, "error", dict)),
        "tags": _req(body, "tags", dict),
        "context": _document(_req(body, "context", dict)),
        "github": _fast_github(body.get("github")),
        "submission_key": key,
        "info": _document(_opt(body, "info", dict)),
        "optional_benchmark_info": _document(_opt(body, "optional_benchmark_info", dict)),
        "validation": _document(_opt(body, "validation", dict)),
        "change_annotations": _document(_opt(body, "change_annotations", dict)),
    }


def _fail() -> Any:
    raise _Invalid
