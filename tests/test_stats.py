"""Golden numbers of spec 04 §11: the three worked examples, number for number."""

import random
from datetime import datetime, timedelta

import pytest

from conbench.aggregates import compute_aggregates
from conbench.stats import (
    Point,
    PointStats,
    distribution,
    lookback_z,
    pairwise,
    percentile,
    point_z,
    rolling_stats,
    round4,
    shift_z_scores,
    single_value_summary,
    svs_type,
)

DAY1 = datetime(2024, 1, 1, 12, 0)
UNDEFINED = None


def series(values: list[float], annotated: tuple[int, ...] = ()) -> list[Point]:
    """One result per commit on consecutive days; `annotated` holds 1-based commit numbers."""
    return [
        Point(
            commit_ts=DAY1 + timedelta(days=i),
            result_ts=DAY1 + timedelta(days=i, minutes=5),
            svs=value,
            begins_distribution_change=i + 1 in annotated,
        )
        for i, value in enumerate(values)
    ]


def table(stats: list[PointStats], digits: int = 6) -> list[tuple]:
    """The spec tables' columns, rounded the way the spec prints them."""

    def r(value: float | None) -> float | None:
        return None if value is None else round(value, digits) + 0.0

    return [
        (
            s.is_outlier,
            s.segment_id,
            r(s.rolling_mean_excluding_this_commit),
            r(s.rolling_mean),
            r(s.residual),
            r(s.rolling_stddev),
        )
        for s in stats
    ]


# Example 1 -------------------------------------------------------------------------------------


def test_example_1_aggregates_of_four_samples():
    assert compute_aggregates([3.0, 1.0, 2.0, 10.0]) == {
        "mean": 4.0,
        "q1": 1.75,
        "q3": 4.75,
        "median": 2.5,
        "min": 1.0,
        "max": 10.0,
        "stdev": 4.08248290463863,
        "iqr": 3.0,
    }


def test_example_1_svs_of_a_rate_is_the_max_column():
    assert single_value_summary("i/s", [3.0, 1.0, 2.0, 10.0], 1.0, 10.0) == 10.0
    assert svs_type("i/s") == "max"


def test_example_1_rate_drop_of_twenty_percent_is_a_regression():
    assert pairwise(12.5, 10.0, "i/s", 5.0) == {
        "percent_change": -20.0,
        "percent_threshold": 5.0,
        "regression_indicated": True,
        "improvement_indicated": False,
    }


def test_example_1_two_samples_store_only_the_mean_and_svs_is_min_of_data():
    assert compute_aggregates([0.5, 0.4])["mean"] == 0.45
    assert single_value_summary("s", [0.5, 0.4], None, None) == 0.4
    assert svs_type("s") == "min"


def test_example_1_faster_duration_is_an_improvement():
    assert pairwise(0.5, 0.4, "s", 5.0) == {
        "percent_change": 20.0,
        "percent_threshold": 5.0,
        "regression_indicated": False,
        "improvement_indicated": True,
    }


# Example 2 -------------------------------------------------------------------------------------

SEED = [1.00, 1.05, 1.10]


def test_example_2_lookback_table_of_commits_01_to_03():
    assert table(rolling_stats(series(SEED), include_current=True)) == [
        (False, 0, 1.0, 1.0, 0.0, UNDEFINED),
        (False, 0, 1.0, 1.025, 0.05, 0.035355),
        (False, 0, 1.025, 1.05, 0.075, 0.038188),
    ]


def test_example_2_distribution_of_commit_03():
    assert distribution(series(SEED)) == (1.05, 0.03818813079129875)


def test_example_2_feature_branch_contender_is_a_regression():
    assert lookback_z(1.80, 1.05, 0.03818813079129875, "s", 5.0) == {
        "z_threshold": 5.0,
        "z_score": -19.64,
        "regression_indicated": True,
        "improvement_indicated": False,
    }
    assert pairwise(1.10, 1.80, "s", 5.0)["percent_change"] == -63.64
    assert pairwise(1.10, 1.80, "s", 5.0)["regression_indicated"] is True


def test_example_2_commit_04_contender_is_a_regression():
    analysis = lookback_z(1.40, *distribution(series(SEED)), "s", 5.0)
    assert analysis["z_score"] == -9.165
    assert analysis["regression_indicated"] is True


def test_example_2_commit_05_against_commit_04_is_stable_and_ignores_the_step():
    points = series([*SEED, 1.40])
    assert [s.is_step for s in rolling_stats(points, include_current=True)] == [0, 0, 0, 1]
    assert distribution(points) == (1.1375, 0.15728821740147386)
    assert lookback_z(1.45, 1.1375, 0.15728821740147386, "s", 5.0) == {
        "z_threshold": 5.0,
        "z_score": -1.987,
        "regression_indicated": False,
        "improvement_indicated": False,
    }
    assert pairwise(1.40, 1.45, "s", 5.0) == {
        "percent_change": -3.571,
        "percent_threshold": 5.0,
        "regression_indicated": False,
        "improvement_indicated": False,
    }


def test_example_2_commit_02_has_no_z_with_a_single_commit_of_history():
    dist_mean, dist_std = distribution(series([1.00]))
    assert (dist_mean, dist_std) == (1.0, None)
    assert lookback_z(1.05, dist_mean, dist_std, "s", 5.0) is None


# Example 3 -------------------------------------------------------------------------------------

SPIKE = [10.0, 10.1, 9.9, 10.0, 10.2, 9.8, 15.0, 12.0, 12.1, 11.9, 12.0, 12.1]


def spike_series() -> list[Point]:
    return series(SPIKE, annotated=(8,))


def test_example_3_shift_detection_clips_and_scores_the_spike():
    diffs = sorted(b - a for a, b in zip(SPIKE, SPIKE[1:], strict=False))
    assert round(percentile(diffs, 5.0), 2) == -1.70
    assert round(percentile(diffs, 95.0), 2) == 2.70
    z = shift_z_scores(SPIKE)
    assert (round(z[6], 2), round(z[7], 2)) == (20.88, -11.79)


def test_example_3_spike_is_an_outlier_and_the_revert_is_no_step():
    stats = rolling_stats(spike_series(), include_current=True)
    assert [s.is_outlier for s in stats] == [i == 6 for i in range(12)]
    assert not any(s.is_step for s in stats)
    assert [s.segment_id for s in stats] == [0] * 7 + [1] * 5


def test_example_3_table_with_current_commit_included():
    assert table(rolling_stats(spike_series(), include_current=True), digits=6) == [
        (False, 0, 10.0, 10.0, 0.0, UNDEFINED),
        (False, 0, 10.0, 10.05, 0.1, 0.070711),
        (False, 0, 10.05, 10.0, -0.15, 0.125831),
        (False, 0, 10.0, 10.0, 0.0, 0.103078),
        (False, 0, 10.0, 10.04, 0.2, 0.130384),
        (False, 0, 10.04, 10.0, -0.24, 0.160468),
        (True, 0, None, None, None, None),
        (False, 1, 12.0, 12.0, 0.0, 0.146596),
        (False, 1, 12.0, 12.05, 0.1, 0.141466),
        (False, 1, 12.05, 12.0, -0.15, 0.141608),
        (False, 1, 12.0, 12.0, 0.0, 0.1336),
        (False, 1, 12.0, 12.02, 0.1, 0.131322),
    ]


def test_example_3_history_view_excludes_the_current_commit():
    # The spec gives commit 8 (0.160468, the previous commits' residuals across segments) and
    # commit 2 (undefined); with one result per commit every other row's stddev is the
    # include-current stddev of the commit before it, and rolling_mean equals the excluding mean.
    assert table(rolling_stats(spike_series(), include_current=False), digits=6) == [
        (False, 0, 10.0, 10.0, 0.0, UNDEFINED),
        (False, 0, 10.0, 10.0, 0.1, UNDEFINED),
        (False, 0, 10.05, 10.05, -0.15, 0.070711),
        (False, 0, 10.0, 10.0, 0.0, 0.125831),
        (False, 0, 10.0, 10.0, 0.2, 0.103078),
        (False, 0, 10.04, 10.04, -0.24, 0.130384),
        (True, 0, None, None, None, None),
        (False, 1, 12.0, 12.0, 0.0, 0.160468),
        (False, 1, 12.0, 12.0, 0.1, 0.146596),
        (False, 1, 12.05, 12.05, -0.15, 0.141466),
        (False, 1, 12.0, 12.0, 0.0, 0.141608),
        (False, 1, 12.0, 12.0, 0.1, 0.1336),
    ]


def test_example_3_distribution_is_the_last_commit_of_the_new_segment():
    assert distribution(spike_series()) == (12.02, 0.1313219499758305)


@pytest.mark.parametrize(
    ("contender", "z_score", "regression", "improvement"),
    [(12.9, -6.701, True, False), (11.2, 6.244, False, True), (13.5, -11.27, True, False)],
)
def test_example_3_contender_z_scores(contender, z_score, regression, improvement):
    assert lookback_z(contender, 12.02, 0.1313219499758305, "s", 5.0) == {
        "z_threshold": 5.0,
        "z_score": z_score,
        "regression_indicated": regression,
        "improvement_indicated": improvement,
    }


def test_example_3_history_point_z_uses_the_previous_commits():
    points = spike_series()
    stats = rolling_stats(points, include_current=False)
    assert round4(point_z(12.1, stats[11], "s")) == round4(-(12.1 - 12.0) / 0.133599733865337)
    assert point_z(10.1, stats[1], "s") is None
    assert point_z(15.0, stats[6], "s") is None


# Properties of the interface that the examples rely on ------------------------------------------


def test_rows_come_back_in_input_order_whatever_the_order_given():
    points = spike_series()
    expected = dict(zip(points, rolling_stats(points, include_current=True), strict=True))
    shuffled = points[:]
    random.Random(4).shuffle(shuffled)
    assert rolling_stats(shuffled, include_current=True) == [expected[p] for p in shuffled]


def test_results_of_one_commit_share_their_statistics():
    points = series([1.0, 1.2, 1.1])
    extra = Point(points[1].commit_ts, points[1].result_ts + timedelta(seconds=1), 1.3, False)
    stats = rolling_stats([*points, extra], include_current=True)
    assert stats[1].rolling_mean == stats[3].rolling_mean == pytest.approx((1.0 + 1.2 + 1.3) / 3)
    assert stats[1].rolling_stddev == stats[3].rolling_stddev


def test_annotation_on_a_later_result_of_a_commit_moves_the_whole_commit():
    points = series([1.0, 1.2, 1.1])
    extra = Point(points[1].commit_ts, points[1].result_ts + timedelta(seconds=1), 1.3, True)
    stats = rolling_stats([*points, extra], include_current=True)
    assert [s.segment_id for s in stats] == [0, 1, 1, 1]


def test_empty_history_has_no_distribution():
    assert rolling_stats([], include_current=True) == []
    assert distribution([]) == (None, None)


def test_z_exactly_at_threshold_is_not_indicated():
    analysis = lookback_z(15.0, 10.0, 1.0, "i/s", 5.0)
    assert analysis["z_score"] == 5.0
    assert analysis["improvement_indicated"] is False


def test_zero_stddev_or_directionless_unit_gives_no_z():
    assert lookback_z(2.0, 1.0, 0.0, "s", 5.0) is None
    assert lookback_z(2.0, 1.0, 0.5, "widgets", 5.0) is None


def test_zero_baseline_or_directionless_unit_gives_no_pairwise():
    assert pairwise(0.0, 1.0, "s", 5.0) is None
    assert pairwise(1.0, 2.0, "widgets", 5.0) is None


def test_unchanged_duration_is_zero_percent_not_negative_zero():
    assert str(pairwise(2.0, 2.0, "s", 5.0)["percent_change"]) == "0.0"


def test_pairwise_thresholds_use_the_unrounded_percent():
    # 5.00004 % rounds to 5.0 but is still above the 5 % threshold
    analysis = pairwise(100000.0, 105000.004, "i/s", 5.0)
    assert analysis["percent_change"] == 5.0
    assert analysis["improvement_indicated"] is True


@pytest.mark.parametrize(
    ("data", "unit", "min_", "max_", "expected"),
    [
        ([3.0], "s", None, None, 3.0),
        ([2.0, 5.0], "B/s", None, None, 5.0),
        ([2.0, 5.0], "b/s", None, None, 5.0),
        ([1.0, None], "s", None, None, None),
        ([], "s", None, None, None),
        (None, "s", None, None, None),
        ([1.0], None, None, None, None),
        ([1.0], "widgets", None, None, None),
    ],
)
def test_single_value_summary_rule(data, unit, min_, max_, expected):
    assert single_value_summary(unit, data, min_, max_) == expected


def test_svs_type_without_unit_is_na():
    assert svs_type(None) == "n/a"
    assert svs_type("B/s") == "max"
    assert svs_type("ns") == "min"


def test_round4_is_four_significant_figures():
    assert [round4(v) for v in (19.63961, -9.16515, 0.000123456, 123456.0)] == [
        19.64,
        -9.165,
        0.0001235,
        123500.0,
    ]
