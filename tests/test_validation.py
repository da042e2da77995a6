"""Every message and status of 01 §5.1-5.3, 01 §6 and 02 §3, in the legacy and the modern form."""

from datetime import datetime

import pytest

from conbench.canonical import payload_sha256
from conbench.validation import (
    BusinessRuleError,
    Cluster,
    Machine,
    ValidationFailed,
    merge_change_annotations,
    prepare_result,
    validate_change_annotations_put,
)
from tests.payloads import DROP, cluster_info, github, legacy_result, machine_info, stats

MISSING = ["Missing data for required field."]
NOT_NULL = ["Field may not be null."]
UNKNOWN = ["Unknown field."]


def legacy_errors(body: object) -> dict:
    with pytest.raises(ValidationFailed) as info:
        prepare_result(body, modern=False)
    return info.value.legacy_errors


def modern_failure(body: object) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        prepare_result(body, modern=True)
    return info.value


def problem(body: object) -> tuple[str, str]:
    """The single modern problem as (location, message)."""
    [only] = modern_failure(body).problems
    return only["location"], only["message"]


def business_message(body: object, modern: bool) -> str:
    with pytest.raises(BusinessRuleError) as info:
        prepare_result(body, modern=modern)
    return info.value.message


# --- pre-processing (01 §5.1) ---


@pytest.mark.parametrize("body", [[], "x", 3, None])
def test_non_object_body_is_invalid_input_type(body):
    assert legacy_errors(body) == {"_schema": ["Invalid input type."]}
    assert problem(body) == ("body", "Invalid input type.")


@pytest.mark.parametrize("key", ["batch_id", "run_reason", "run_name"])
@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_blank_top_level_strings_become_null_and_fail_legacy(key, blank):
    assert legacy_errors(legacy_result(**{key: blank})) == {key: NOT_NULL}


def test_blank_batch_id_becomes_null_on_the_modern_route():
    assert prepare_result(legacy_result(batch_id=""), modern=True).batch_id is None


def test_nested_blank_strings_are_kept():
    result = prepare_result(legacy_result(context={"compiler": ""}), modern=False)
    assert result.context == {"compiler": ""}


def test_body_is_not_mutated():
    body = legacy_result(batch_id="", run_tags={"a": "b"}, run_name="n", github=github(branch=""))
    prepare_result(body, modern=True)
    legacy_errors(body)
    assert body == legacy_result(
        batch_id="", run_tags={"a": "b"}, run_name="n", github=github(branch="")
    )


# --- top-level schema (01 §5.2) ---


def test_valid_benchadapt_payload_is_accepted():
    result = prepare_result(legacy_result(), modern=False)
    assert result.run_id == "run-0123456789"
    assert result.batch_id == "5f3c6a0e9d8b4c2a8e1f7b6d5c4a3b2e"
    assert result.submission_key is None and result.payload_sha256 is None


@pytest.mark.parametrize("key", ["run_id", "batch_id", "timestamp", "tags", "context", "github"])
def test_required_top_level_field_missing(key):
    assert legacy_errors(legacy_result(**{key: DROP})) == {key: MISSING}


@pytest.mark.parametrize("key", ["run_id", "timestamp", "tags", "context", "github"])
def test_required_top_level_field_missing_modern(key):
    assert problem(legacy_result(**{key: DROP})) == (f"body.{key}", MISSING[0])


def test_batch_id_is_optional_on_the_modern_route():
    assert prepare_result(legacy_result(batch_id=DROP), modern=True).batch_id is None
    assert prepare_result(legacy_result(batch_id=None), modern=True).batch_id is None


def test_null_run_id_from_benchadapt_is_rejected():
    assert legacy_errors(legacy_result(run_id=None)) == {"run_id": NOT_NULL}
    assert problem(legacy_result(run_id=None)) == ("body.run_id", NOT_NULL[0])


OPTIONAL_OBJECTS = ["info", "optional_benchmark_info", "validation", "change_annotations"]


@pytest.mark.parametrize(
    "key", ["run_name", "run_reason", "run_tags", "tags", "context", *OPTIONAL_OBJECTS]
)
def test_non_nullable_fields_reject_null(key):
    assert legacy_errors(legacy_result(**{key: None})) == {key: NOT_NULL}
    assert problem(legacy_result(**{key: None})) == (f"body.{key}", NOT_NULL[0])


@pytest.mark.parametrize("key", ["run_id", "batch_id", "run_name", "run_reason"])
def test_string_fields_reject_other_types(key):
    assert legacy_errors(legacy_result(**{key: 5})) == {key: ["Not a valid string."]}
    assert problem(legacy_result(**{key: 5})) == (f"body.{key}", "Not a valid string.")


@pytest.mark.parametrize("key", ["tags", "context", "run_tags", "error", *OPTIONAL_OBJECTS])
def test_object_fields_reject_other_types(key):
    assert legacy_errors(legacy_result(**{key: [1]})) == {key: ["Not a valid mapping type."]}
    assert problem(legacy_result(**{key: "x"})) == (f"body.{key}", "Not a valid mapping type.")


def test_unknown_top_level_key_is_rejected():
    assert legacy_errors(legacy_result(extra=1)) == {"extra": UNKNOWN}
    failure = modern_failure(legacy_result(extra=1))
    assert failure.problems == [{"message": "Unknown field.", "location": "body.extra", "value": 1}]
    assert failure.detail == "extra: Unknown field."


def test_submission_key_is_an_unknown_field_on_the_legacy_route():
    assert legacy_errors(legacy_result(submission_key="k")) == {"submission_key": UNKNOWN}


def test_several_problems_are_reported_together():
    body = legacy_result(run_id=DROP, extra=1, stats=stats(data=[1, True]))
    assert legacy_errors(body) == {
        "run_id": MISSING,
        "extra": UNKNOWN,
        "stats": {"data": {"1": ["Not a valid number."]}},
    }
    failure = modern_failure(body)
    assert len(failure.problems) == 3
    assert failure.detail.endswith("(and 2 more problems)")


# --- timestamp ---


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-05T12:00:00.123456+00:00", datetime(2024, 1, 5, 12, 0, 0, 123456)),
        ("2024-01-05T12:00:00Z", datetime(2024, 1, 5, 12, 0, 0)),
        ("2024-01-05T12:00:00", datetime(2024, 1, 5, 12, 0, 0)),
        ("2024-01-05T14:30:00+02:30", datetime(2024, 1, 5, 12, 0, 0)),
        ("2024-01-05T07:00:00-0500", datetime(2024, 1, 5, 12, 0, 0)),
        ("2024-01-05 12:00", datetime(2024, 1, 5, 12, 0, 0)),
        ("2024-01-05T12:00:00.5Z", datetime(2024, 1, 5, 12, 0, 0, 500000)),
        ("2024-01-05T12:00:00.123456789Z", datetime(2024, 1, 5, 12, 0, 0, 123456)),
        ("2024-01-01T01:00:00+02", datetime(2023, 12, 31, 23, 0, 0)),
    ],
)
def test_timestamps_are_stored_as_naive_utc_with_microseconds(text, expected):
    assert prepare_result(legacy_result(timestamp=text), modern=False).timestamp == expected


@pytest.mark.parametrize(
    "value", ["yesterday", "2024-01-05", "2024-13-01T00:00:00Z", "2024-01-05T12:00:00+25:00", 17]
)
def test_bad_timestamp_is_not_a_valid_datetime(value):
    assert legacy_errors(legacy_result(timestamp=value)) == {"timestamp": ["Not a valid datetime."]}
    assert problem(legacy_result(timestamp=value)) == ("body.timestamp", "Not a valid datetime.")


# --- hardware ---


def test_missing_hardware_is_a_schema_error():
    body = legacy_result(machine_info=DROP)
    assert legacy_errors(body) == {
        "_schema": ["Either machine_info or cluster_info field is required"]
    }
    failure = modern_failure(body)
    assert failure.detail == "either machine_info or cluster_info field is required"
    assert failure.problems[0]["location"] == "body"


def test_machine_and_cluster_together_are_a_schema_error():
    body = legacy_result(cluster_info=cluster_info())
    message = "machine_info and cluster_info fields can not be used at the same time"
    assert legacy_errors(body) == {"_schema": [message]}
    assert modern_failure(body).detail == message


def test_machine_info_strings_become_integers_and_the_hash():
    machine = prepare_result(legacy_result(), modern=False).hardware
    assert isinstance(machine, Machine)
    assert (machine.cpu_core_count, machine.memory_bytes, machine.kernel_name) == (
        4,
        33672359936,
        "None",
    )
    assert machine.hash == "ci-runner-1-0-4-8-33672359936"


def test_machine_info_float_is_truncated_toward_zero():
    body = legacy_result(machine_info=machine_info(cpu_core_count=8.9, gpu_count=-0.5))
    machine = prepare_result(body, modern=False).hardware
    assert (machine.cpu_core_count, machine.gpu_count) == (8, 0)


@pytest.mark.parametrize("value", ["8.5", "eight", True, [8], {}])
def test_machine_info_non_integer_is_not_a_valid_integer(value):
    body = legacy_result(machine_info=machine_info(cpu_core_count=value))
    assert legacy_errors(body) == {"machine_info": {"cpu_core_count": ["Not a valid integer."]}}
    assert problem(body) == ("body.machine_info.cpu_core_count", "Not a valid integer.")


def test_machine_info_integer_beyond_its_column_is_rejected():
    body = legacy_result(machine_info=machine_info(cpu_core_count=2**31))
    expected = "Must be greater than or equal to -2147483648 and less than or equal to 2147483647."
    assert legacy_errors(body) == {"machine_info": {"cpu_core_count": [expected]}}


@pytest.mark.parametrize("key", sorted(machine_info()))
def test_legacy_machine_info_requires_all_sixteen_keys(key):
    body = legacy_result(machine_info=machine_info(**{key: DROP}))
    assert legacy_errors(body) == {"machine_info": {key: MISSING}}
    body = legacy_result(machine_info=machine_info(**{key: None}))
    assert legacy_errors(body) == {"machine_info": {key: NOT_NULL}}


def test_machine_info_string_field_rejects_numbers():
    body = legacy_result(machine_info=machine_info(os_name=6))
    assert legacy_errors(body) == {"machine_info": {"os_name": ["Not a valid string."]}}


def test_gpu_product_names_must_be_a_list_of_strings():
    body = legacy_result(machine_info=machine_info(gpu_product_names="A100"))
    assert legacy_errors(body) == {"machine_info": {"gpu_product_names": ["Not a valid list."]}}
    body = legacy_result(machine_info=machine_info(gpu_product_names=["A100", 7]))
    assert legacy_errors(body) == {
        "machine_info": {"gpu_product_names": {"1": ["Not a valid string."]}}
    }
    assert problem(body) == ("body.machine_info.gpu_product_names[1]", "Not a valid string.")


def test_machine_info_unknown_key_is_rejected():
    body = legacy_result(machine_info=machine_info(cpu_vendor="x"))
    assert legacy_errors(body) == {"machine_info": {"cpu_vendor": UNKNOWN}}


def test_machine_info_that_is_not_an_object_is_invalid_input_type():
    body = legacy_result(machine_info=["x"])
    assert legacy_errors(body) == {"machine_info": {"_schema": ["Invalid input type."]}}
    assert problem(body) == ("body.machine_info", "Invalid input type.")


def test_modern_machine_info_needs_only_the_five_hash_inputs():
    partial = {
        "name": "m",
        "cpu_core_count": 2,
        "cpu_thread_count": "4",
        "memory_bytes": 8,
        "gpu_count": 0,
    }
    machine = prepare_result(legacy_result(machine_info=partial), modern=True).hardware
    assert machine.hash == "m-0-2-4-8"
    assert machine.os_name is None and machine.cpu_frequency_max_hz is None
    assert machine.gpu_product_names == []


def test_modern_machine_info_accepts_explicit_nulls_for_optional_keys():
    body = legacy_result(machine_info=machine_info(os_name=None, gpu_product_names=None))
    machine = prepare_result(body, modern=True).hardware
    assert machine.os_name is None and machine.gpu_product_names == []


@pytest.mark.parametrize(
    "key", ["name", "cpu_core_count", "cpu_thread_count", "memory_bytes", "gpu_count"]
)
def test_modern_machine_info_requires_the_hash_inputs(key):
    assert problem(legacy_result(machine_info=machine_info(**{key: DROP}))) == (
        f"body.machine_info.{key}",
        MISSING[0],
    )
    assert problem(legacy_result(machine_info=machine_info(**{key: None}))) == (
        f"body.machine_info.{key}",
        NOT_NULL[0],
    )


def test_cluster_info_gives_a_cluster_with_the_upstream_hash():
    body = legacy_result(machine_info=DROP, cluster_info=cluster_info())
    cluster = prepare_result(body, modern=False).hardware
    assert cluster == Cluster(
        "c1", {"workers": 4, "region": "us"}, {}, "c1-bb018ab84e04e12cd6e14b8b3ff9c548"
    )


@pytest.mark.parametrize("key", ["name", "info", "optional_info"])
def test_cluster_info_requires_all_three_keys(key):
    info = cluster_info()
    del info[key]
    body = legacy_result(machine_info=DROP, cluster_info=info)
    assert legacy_errors(body) == {"cluster_info": {key: MISSING}}
    assert problem(body) == (f"body.cluster_info.{key}", MISSING[0])


def test_cluster_info_checks_types_and_unknown_keys():
    info = {**cluster_info(), "info": "x", "zone": "a"}
    body = legacy_result(machine_info=DROP, cluster_info=info)
    assert legacy_errors(body) == {
        "cluster_info": {"info": ["Not a valid mapping type."], "zone": UNKNOWN}
    }


# --- stats and error ---


def test_missing_stats_and_error_is_a_schema_error():
    body = legacy_result(stats=DROP)
    assert legacy_errors(body) == {"_schema": ["Either stats or error field is required"]}
    assert modern_failure(body).detail == "either stats or error field is required"


def test_null_error_is_rejected():
    assert legacy_errors(legacy_result(error=None)) == {"error": NOT_NULL}
    failure = modern_failure(legacy_result(error=None))
    assert failure.detail == "error: null is not allowed; omit the field or send an object"
    assert failure.problems[0]["location"] == "body.error"


def test_null_error_without_stats_reports_only_the_null_on_the_modern_route():
    failure = modern_failure(legacy_result(stats=DROP, error=None))
    assert [p["message"] for p in failure.problems] == [
        "error: null is not allowed; omit the field or send an object"
    ]


def test_schema_rules_wait_for_valid_fields_on_the_legacy_route():
    body = legacy_result(stats=DROP, run_id=DROP)
    assert legacy_errors(body) == {"run_id": MISSING}
    assert len(modern_failure(body).problems) == 2


def test_stats_data_is_required():
    body = legacy_result(stats=stats(data=DROP))
    assert legacy_errors(body) == {"stats": {"data": MISSING}}
    assert problem(body) == ("body.stats.data", MISSING[0])


def test_stats_unit_is_required_and_a_string():
    assert legacy_errors(legacy_result(stats=stats(unit=DROP))) == {"stats": {"unit": MISSING}}
    assert legacy_errors(legacy_result(stats=stats(unit=1))) == {
        "stats": {"unit": ["Not a valid string."]}
    }


@pytest.mark.parametrize("value", [True, False, "abc", [1], {}])
def test_stats_data_item_that_is_not_a_number(value):
    body = legacy_result(stats=stats(data=[1.0, value, 2.0]))
    assert legacy_errors(body) == {"stats": {"data": {"1": ["Not a valid number."]}}}
    assert problem(body) == ("body.stats.data[1]", "Not a valid number.")


@pytest.mark.parametrize("value", ["NaN", "nan", "Infinity", "-Infinity", "inf", "1e999"])
def test_stats_data_special_values_are_not_permitted(value):
    body = legacy_result(stats=stats(data=[1.0, value]))
    message = "Special numeric values (nan or infinity) are not permitted."
    assert legacy_errors(body) == {"stats": {"data": {"1": [message]}}}
    assert problem(body) == ("body.stats.data[1]", message)


@pytest.mark.parametrize(
    "field,value,location",
    [
        ("optional_benchmark_info", {"x": float("nan")}, "optional_benchmark_info"),
        ("context", {"a": [1, {"b": float("inf")}]}, "context"),
        ("info", {"x": float("-inf")}, "info"),
        ("validation", {"x": [float("nan")]}, "validation"),
        ("change_annotations", {"x": float("nan")}, "change_annotations"),
        ("cluster_info", {"name": "c", "info": {"x": float("nan")}, "optional_info": {}},
         "cluster_info.info"),
    ],
)  # fmt: skip
def test_special_numbers_inside_stored_documents_are_refused_naming_the_field(
    field, value, location
):
    """json.loads lets NaN/Infinity literals through; PostgreSQL cannot store them in JSON."""
    overrides = {field: value}
    if field == "cluster_info":
        overrides["machine_info"] = DROP
    body = legacy_result(**overrides)
    message = "Special numeric values (nan or infinity) are not permitted."
    tree: dict = {}
    node = tree
    *parents, last = location.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = [message]
    assert legacy_errors(body) == tree
    assert problem(body) == ("body." + location, message)


def test_a_special_number_in_a_tag_value_stays_a_string_tag():
    """Tag values are stringified as upstream did (`str(nan)`), not refused."""
    result = prepare_result(legacy_result(tags={"name": "t", "x": float("nan")}), modern=False)
    assert result.case_tags == {"x": "nan"}


@pytest.mark.parametrize("data", [[1e308, 1e308], [1e308, -1e308, 1e308]])
@pytest.mark.parametrize("modern", [False, True])
def test_data_whose_aggregates_overflow_is_a_business_error(data, modern):
    """Each value is finite, but the mean or the spread is not (was a 500)."""
    body = legacy_result(stats=stats(data=data))
    message = "stats: data values too large to aggregate (an aggregate such as the mean overflows)"
    assert business_message(body, modern) == message


def test_stats_data_must_be_a_list():
    body = legacy_result(stats=stats(data="1,2"))
    assert legacy_errors(body) == {"stats": {"data": ["Not a valid list."]}}


def test_numeric_strings_in_data_become_floats():
    result = prepare_result(legacy_result(stats=stats(data=["1.5", "2", 3, " 4.5 "])), modern=False)
    assert result.data == [1.5, 2.0, 3.0, 4.5]
    assert all(type(value) is float for value in result.data)


def test_stats_optional_fields_are_type_checked():
    body = legacy_result(
        stats=stats(times=[1, "x"], time_unit=5, iterations="many", mean=True, q1=None)
    )
    assert legacy_errors(body) == {
        "stats": {
            "times": {"1": ["Not a valid number."]},
            "time_unit": ["Not a valid string."],
            "iterations": ["Not a valid integer."],
            "mean": ["Not a valid number."],
            "q1": NOT_NULL,
        }
    }


def test_stats_unknown_key_is_rejected():
    assert legacy_errors(legacy_result(stats=stats(extra=1))) == {"stats": {"extra": UNKNOWN}}
    assert problem(legacy_result(stats=stats(extra=1))) == ("body.stats.extra", "Unknown field.")


def test_stats_that_is_not_an_object_is_invalid_input_type():
    assert legacy_errors(legacy_result(stats=[1])) == {
        "stats": {"_schema": ["Invalid input type."]}
    }
    assert legacy_errors(legacy_result(stats=None)) == {"stats": NOT_NULL}


# --- github ---


def test_github_repository_is_required():
    body = legacy_result(github=github(repository=DROP))
    assert legacy_errors(body) == {"github": {"repository": MISSING}}


def test_github_repository_must_be_on_github():
    body = legacy_result(github=github(repository="https://gitlab.com/o/r"))
    message = "'repository' must be a URL, starting with 'https://github.com', got `https://gitlab.com/o/r`"
    assert legacy_errors(body) == {"github": {"_schema": [message]}}
    assert problem(body) == ("body.github.repository", message)


def test_github_ssh_repository_is_rewritten_and_trailing_slash_stripped():
    body = legacy_result(github=github(repository="git@github.com:apache/arrow/"))
    assert prepare_result(body, modern=False).github.repository == "https://github.com/apache/arrow"


def test_github_commit_must_not_be_empty():
    body = legacy_result(github=github(commit=""))
    assert legacy_errors(body) == {"github": {"_schema": ["'commit' must be a non-empty string"]}}
    assert problem(body) == ("body.github.commit", "'commit' must be a non-empty string")


def test_github_commit_may_be_absent():
    result = prepare_result(legacy_result(github=github(commit=DROP)), modern=False)
    assert result.github.commit is None


def test_github_pr_number_accepts_integer_strings_and_empty():
    result = prepare_result(legacy_result(github=github(pr_number="123")), modern=False)
    assert result.github.pr_number == 123
    result = prepare_result(legacy_result(github=github(pr_number="", branch="")), modern=False)
    assert (result.github.pr_number, result.github.branch) == (None, None)


def test_github_pr_number_and_branch_types():
    body = legacy_result(github=github(pr_number="12a", branch=5))
    assert legacy_errors(body) == {
        "github": {"pr_number": ["Not a valid integer."], "branch": ["Not a valid string."]}
    }


def test_github_unknown_key_is_rejected():
    assert legacy_errors(legacy_result(github=github(sha="x"))) == {"github": {"sha": UNKNOWN}}


# --- run_tags ---


def test_run_tags_keys_must_be_non_empty():
    body = legacy_result(run_tags={"": "x"})
    assert legacy_errors(body) == {"_schema": ["run_tags keys must be non-empty strings"]}
    assert modern_failure(body).detail == "run_tags keys must be non-empty strings"


def test_run_tags_values_must_be_strings():
    body = legacy_result(run_tags={"a": 1})
    assert legacy_errors(body) == {"_schema": ["run_tags values must be strings"]}
    assert problem(body) == ("body.run_tags.a", "run_tags values must be strings")


def test_run_name_goes_into_run_tags_unless_a_name_is_there():
    result = prepare_result(legacy_result(run_tags=DROP, run_name="nightly"), modern=False)
    assert result.run_tags == {"name": "nightly"}
    result = prepare_result(legacy_result(run_tags={"name": "mine"}, run_name="n"), modern=False)
    assert result.run_tags == {"name": "mine"}


def test_run_tags_default_to_empty():
    result = prepare_result(legacy_result(run_tags=DROP, run_name=DROP), modern=False)
    assert result.run_tags == {}


# --- tags (01 §5.3 step 1) ---


def test_tags_split_into_benchmark_name_and_case():
    result = prepare_result(legacy_result(), modern=False)
    assert result.benchmark_name == "file-read"
    assert result.case_tags == {"dataset": "nyctaxi", "compression": "snappy"}


@pytest.mark.parametrize("modern", [False, True])
def test_tags_without_name_are_a_business_error(modern):
    message = "`name` property must be present in `tags` (the name of the conceptual benchmark)"
    assert business_message(legacy_result(tags={"x": "y"}), modern) == message
    assert business_message(legacy_result(tags={"name": ""}), modern) == message


@pytest.mark.parametrize("modern", [False, True])
def test_empty_tag_key_is_a_business_error(modern):
    body = legacy_result(tags={"name": "b", "": "x"})
    assert business_message(body, modern) == "tags: zero-length string as key is not allowed"


@pytest.mark.parametrize("modern", [False, True])
@pytest.mark.parametrize("value", [{"a": 1}, [1, 2]])
def test_object_or_array_tag_value_is_a_business_error(modern, value):
    body = legacy_result(tags={"name": "b", "k": value})
    assert business_message(body, modern) == (
        "tags: bad value type for key `{key}`, JSON object and array is not allowed`"
    )


def test_empty_and_null_tag_values_are_dropped():
    result = prepare_result(
        legacy_result(tags={"name": "b", "a": "", "c": None, "d": "x"}), modern=True
    )
    assert result.case_tags == {"d": "x"}


def test_primitive_tag_values_become_python_strings():
    tags = {"name": "b", "t": True, "f": False, "i": 2, "x": 2.5, "e": 1e-05, "big": 1e16, "s": "s"}
    result = prepare_result(legacy_result(tags=tags), modern=True)
    assert result.case_tags == {
        "t": "True", "f": "False", "i": "2", "x": "2.5", "e": "1e-05", "big": "1e+16", "s": "s"
    }  # fmt: skip


def test_non_string_benchmark_name_is_stringified():
    assert prepare_result(legacy_result(tags={"name": 7}), modern=False).benchmark_name == "7"


# --- stats branch (01 §5.3 step 2) ---


def test_success_recomputes_aggregates_and_ignores_user_values():
    body = legacy_result(stats=stats(data=[3, 1, 2, 10], unit="i/s", mean=99, min="0"))
    result = prepare_result(body, modern=False)
    assert result.error is None
    assert result.data == [3.0, 1.0, 2.0, 10.0]
    assert result.aggregates == {
        "min": 1.0, "max": 10.0, "mean": 4.0, "median": 2.5, "stdev": 4.08248290463863,
        "q1": 1.75, "q3": 4.75, "iqr": 3.0,
    }  # fmt: skip


def test_two_samples_keep_only_the_mean():
    result = prepare_result(legacy_result(stats=stats(data=[0.5, 0.4], max=9)), modern=False)
    assert result.aggregates["mean"] == 0.45
    assert result.aggregates["max"] is None


def test_lowercase_bytes_per_second_is_stored_as_uppercase():
    result = prepare_result(legacy_result(stats=stats(unit="b/s")), modern=False)
    assert result.unit == "B/s"


@pytest.mark.parametrize("modern", [False, True])
def test_unknown_unit_on_a_success_is_a_business_error(modern):
    body = legacy_result(stats=stats(unit="ms"))
    assert (
        business_message(body, modern)
        == "invalid unit string `ms`, pick one of: B, B/s, s, ns, i/s"
    )


def test_errored_result_keeps_stats_verbatim_without_unit_check():
    body = legacy_result(
        error={"stack": "boom"}, stats=stats(data=[1, None], unit="ms", mean="1.5", iterations=2)
    )
    result = prepare_result(body, modern=False)
    assert result.error == {"stack": "boom"}
    assert (result.unit, result.iterations, result.data) == ("ms", 2, [1.0, None])
    assert result.aggregates["mean"] == 1.5 and result.aggregates["min"] is None


def test_empty_error_object_still_marks_the_result_errored():
    result = prepare_result(legacy_result(error={}), modern=False)
    assert result.error == {}
    assert result.aggregates["mean"] is None


@pytest.mark.parametrize("data", [[], [1.0, None, 1.04]])
def test_missing_iterations_make_a_partial_result(data):
    result = prepare_result(legacy_result(stats=stats(data=data, unit="bogus", q1=1)), modern=False)
    assert result.error == {"status": "Partial result: not all iterations completed"}
    assert result.unit == "bogus"
    assert result.data == data
    assert result.aggregates["q1"] == 1.0


def test_error_without_stats_has_no_unit_and_empty_arrays():
    result = prepare_result(legacy_result(stats=DROP, error={"x": 1}), modern=False)
    assert (result.unit, result.time_unit, result.iterations) == (None, None, None)
    assert (result.data, result.times) == ([], [])
    assert set(result.aggregates.values()) == {None}


def test_times_default_to_empty():
    assert prepare_result(legacy_result(stats=stats(times=DROP)), modern=False).times == []


# --- row values (01 §5.3 step 5) ---


def test_change_annotations_drop_null_values():
    body = legacy_result(change_annotations={"begins_distribution_change": True, "note": None})
    result = prepare_result(body, modern=False)
    assert result.change_annotations == {"begins_distribution_change": True}


def test_optional_objects_default_as_upstream():
    body = legacy_result(info=DROP, optional_benchmark_info=DROP, change_annotations=DROP)
    result = prepare_result(body, modern=False)
    assert result.info == {}
    assert (result.validation, result.optional_benchmark_info) == (None, None)
    assert result.change_annotations == {}


# --- modern submission key and hash (02 §3) ---


def test_modern_submission_key_is_kept_with_the_payload_hash():
    body = legacy_result(submission_key="k" * 255, batch_id="")
    result = prepare_result(body, modern=True)
    assert result.submission_key == "k" * 255
    assert result.payload_sha256 == payload_sha256(body)


def test_modern_payload_hash_is_of_the_raw_body_before_blank_to_null():
    raw = legacy_result(submission_key="k", batch_id="")
    normalized = legacy_result(submission_key="k", batch_id=None)
    assert prepare_result(raw, modern=True).payload_sha256 != payload_sha256(normalized)


def test_modern_without_submission_key_has_no_hash():
    result = prepare_result(legacy_result(), modern=True)
    assert (result.submission_key, result.payload_sha256) == (None, None)


def test_modern_submission_key_longer_than_255_is_rejected():
    assert problem(legacy_result(submission_key="k" * 256)) == (
        "body.submission_key",
        "Length must be between 1 and 255.",
    )


@pytest.mark.parametrize(
    ("value", "message"), [("", NOT_NULL[0]), (None, NOT_NULL[0]), (5, "Not a valid string.")]
)
def test_modern_submission_key_must_be_a_non_blank_string(value, message):
    assert problem(legacy_result(submission_key=value)) == ("body.submission_key", message)


# --- PUT (01 §6, 02 §4.2) ---


def test_put_returns_the_annotations_to_merge():
    body = {"change_annotations": {"a": 1, "b": None}}
    assert validate_change_annotations_put(body, modern=False) == {"a": 1, "b": None}
    assert validate_change_annotations_put(body, modern=True) == {"a": 1, "b": None}


def test_legacy_put_with_empty_body_is_rejected():
    with pytest.raises(ValidationFailed) as info:
        validate_change_annotations_put({}, modern=False)
    assert info.value.legacy_errors == {"_errors": ["Empty request body."]}


@pytest.mark.parametrize("modern", [False, True])
def test_put_with_other_keys_is_rejected(modern):
    with pytest.raises(ValidationFailed) as info:
        validate_change_annotations_put({"change_annotations": {}, "tags": {}}, modern=modern)
    assert info.value.legacy_errors == {"tags": UNKNOWN}
    assert info.value.problems[0]["location"] == "body.tags"


@pytest.mark.parametrize("modern", [False, True])
def test_put_with_a_non_object_is_rejected(modern):
    with pytest.raises(ValidationFailed) as info:
        validate_change_annotations_put([], modern=modern)
    assert info.value.legacy_errors == {"_schema": ["Invalid input type."]}
    with pytest.raises(ValidationFailed) as info:
        validate_change_annotations_put({"change_annotations": 1}, modern=modern)
    assert info.value.legacy_errors == {"change_annotations": ["Not a valid mapping type."]}


def test_legacy_put_rejects_null_annotations():
    with pytest.raises(ValidationFailed) as info:
        validate_change_annotations_put({"change_annotations": None}, modern=False)
    assert info.value.legacy_errors == {"change_annotations": NOT_NULL}


def test_modern_put_with_null_or_nothing_is_a_no_op():
    assert validate_change_annotations_put({"change_annotations": None}, modern=True) is None
    assert validate_change_annotations_put({}, modern=True) is None


def test_merge_puts_new_keys_over_stored_and_drops_nulls():
    stored = {"a": 1, "b": 2, "c": 3}
    assert merge_change_annotations(stored, {"b": 20, "c": None, "d": 4}) == {
        "a": 1,
        "b": 20,
        "d": 4,
    }
    assert stored == {"a": 1, "b": 2, "c": 3}


# --- the fast reader of valid bodies agrees with the full schema ---

_VALID_VARIANTS = [
    {},
    {"machine_info": machine_info(cpu_core_count=4, memory_bytes=1.9e9, gpu_count="+0")},
    {"machine_info": machine_info(gpu_product_names=["A100", "A100"])},
    {"machine_info": DROP, "cluster_info": cluster_info()},
    {"stats": stats(data=["1.5", 2, 3.25, 1e-7], times=DROP, iterations="3", time_unit=DROP)},
    {"stats": stats(data=[1.0, None, 2.0], mean=1.5, q1="0.1")},
    {"stats": DROP, "error": {"message": "boom"}},
    {"stats": stats(data=[]), "error": {}},
    {"github": github(pr_number="12", branch="", commit=DROP)},
    {"github": github(repository="git@github.com:conbench/demo/", pr_number=3.9)},
    {"github": github(pr_number="", branch="feature")},
    {"run_tags": {"name": "x"}, "run_name": DROP, "run_reason": DROP},
    {"info": DROP, "optional_benchmark_info": DROP, "validation": {"ok": True}},
    {"change_annotations": {"begins_distribution_change": True, "note": None}},
]


def _modern_variant(overrides: dict, **extra: object) -> dict:
    body = legacy_result(**overrides)
    body.update(extra)
    return body


@pytest.mark.parametrize("modern", [False, True])
@pytest.mark.parametrize("overrides", _VALID_VARIANTS)
def test_fast_reader_of_valid_bodies_matches_the_full_schema(overrides, modern):
    from conbench.validation import _blank_to_null
    from conbench.validation_fields import Problems
    from conbench.validation_schema import read_result, read_valid_result

    body = _blank_to_null(legacy_result(**overrides))
    if modern:
        body["submission_key"] = "key-1"
    problems = Problems()
    expected = read_result(problems, body, modern)
    assert not problems.items
    assert read_valid_result(body, modern) == expected


@pytest.mark.parametrize(
    "overrides",
    [
        {"machine_info": machine_info(partial=True)},
        {"machine_info": machine_info(cpu_core_count=2**31)},
        {"machine_info": machine_info(gpu_product_names=[None])},
        {"cluster_info": cluster_info()},
        {"stats": stats(data=[float("nan")])},
        {"stats": stats(iterations=None)},
        {"github": github(commit="")},
        {"github": github(repository="https://gitlab.com/x")},
        {"github": None},
        {"run_tags": {"": "x"}},
        {"run_tags": {"a": 1}},
        {"timestamp": None},
        {"error": None},
        {"batch_id": None},
    ],
)
def test_fast_reader_leaves_every_problem_to_the_full_schema(overrides):
    from conbench.validation import _blank_to_null
    from conbench.validation_schema import read_valid_result

    assert read_valid_result(_blank_to_null(legacy_result(**overrides)), False) is None


def test_fast_reader_takes_a_partial_modern_machine_like_the_full_schema():
    from conbench.validation_fields import Problems
    from conbench.validation_schema import read_result, read_valid_result

    partial = {"name": "p", "cpu_core_count": 2, "cpu_thread_count": "4", "memory_bytes": 1024}
    body = legacy_result(
        machine_info={**partial, "gpu_count": 0, "os_name": None, "gpu_product_names": None},
        batch_id=None,
    )
    problems = Problems()
    expected = read_result(problems, body, True)
    assert not problems.items
    assert read_valid_result(body, True) == expected
    assert read_valid_result(body, False) is None
