import pytest

from conbench.aggregates import (
    AGGREGATE_KEYS,
    InvalidUnit,
    compute_aggregates,
    is_failed,
    less_is_better,
    normalize_unit,
    numpy_percentile,
)

# Computed with numpy 2.4 (np.mean, np.percentile, np.median, np.std(ddof=1)); the naive Python
# sum and statistics.stdev differ in the last digit for this input.
TWELVE = [0.658, 1.561, 1.758, 0.184, 1.268, 0.185, 1.465, 0.729, 1.774, 1.963, 1.06, 1.997]


def test_aggregates_of_worked_example_1():
    assert compute_aggregates([3.0, 1.0, 2.0, 10.0]) == {
        "min": 1.0,
        "max": 10.0,
        "mean": 4.0,
        "median": 2.5,
        "stdev": 4.08248290463863,
        "q1": 1.75,
        "q3": 4.75,
        "iqr": 3.0,
    }


def test_two_samples_store_only_the_mean():
    assert compute_aggregates([0.5, 0.4]) == {**dict.fromkeys(AGGREGATE_KEYS), "mean": 0.45}


def test_one_sample_stores_only_the_mean():
    assert compute_aggregates([7.5]) == {**dict.fromkeys(AGGREGATE_KEYS), "mean": 7.5}


def test_mean_and_stdev_use_numpy_pairwise_summation():
    result = compute_aggregates(TWELVE)
    assert result["mean"] == 1.2168333333333334
    assert sum(TWELVE) / 12 == 1.2168333333333332
    assert result["stdev"] == 0.6507110562975543


def test_quartiles_and_median_match_numpy_linear_interpolation():
    result = compute_aggregates(TWELVE)
    assert result["q1"] == 0.7112499999999999
    assert result["q3"] == 1.762
    assert result["median"] == 1.3665
    assert result["iqr"] == 1.762 - 0.7112499999999999


def test_three_samples_get_all_aggregates():
    result = compute_aggregates([1.0, 3.0, 2.0])
    assert result == {
        "min": 1.0,
        "max": 3.0,
        "mean": 2.0,
        "median": 2.0,
        "stdev": 1.0,
        "q1": 1.5,
        "q3": 2.5,
        "iqr": 1.0,
    }


def test_percentile_interpolates_down_from_the_upper_neighbour_from_the_middle_on():
    # numpy's _lerp: b - (b - a) * (1 - t) for t >= 0.5; a + (b - a) * t gives 1.1150000000000002.
    assert numpy_percentile([0.01, 0.38, 1.85], 75) == 1.115


def test_percentile_at_the_top_is_the_maximum():
    assert numpy_percentile([1.0, 2.0, 3.0], 100) == 3.0


@pytest.mark.parametrize("unit", ["B", "B/s", "s", "ns", "i/s"])
def test_known_units_are_kept(unit):
    assert normalize_unit(unit) == unit


def test_lowercase_bytes_per_second_becomes_uppercase():
    assert normalize_unit("b/s") == "B/s"


def test_unknown_unit_has_the_upstream_message():
    with pytest.raises(InvalidUnit) as info:
        normalize_unit("ms")
    assert str(info.value) == "invalid unit string `ms`, pick one of: B, B/s, s, ns, i/s"


@pytest.mark.parametrize(
    ("unit", "expected"),
    [("B", True), ("s", True), ("ns", True), ("B/s", False), ("b/s", False), ("i/s", False)],
)
def test_direction_depends_only_on_the_unit(unit, expected):
    assert less_is_better(unit) is expected


@pytest.mark.parametrize("unit", [None, "", "ms", "x/s"])
def test_units_without_direction_give_none(unit):
    assert less_is_better(unit) is None


def test_complete_data_without_error_is_not_failed():
    assert not is_failed(None, [1.0, 2.0])


@pytest.mark.parametrize(
    ("error", "data"),
    [({"status": "x"}, [1.0]), ({}, [1.0]), (None, None), (None, []), (None, [1.0, None])],
)
def test_error_or_missing_samples_mean_failed(error, data):
    assert is_failed(error, data)


def test_missing_unit_means_failed_when_told():
    assert is_failed(None, [1.0], unit_missing=True)
