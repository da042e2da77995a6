"""conbench.stats against the exact spec-text reference (tests/stats_reference.py) on random series:
ties in commit timestamps, several results per commit, annotations, spikes, windows 3, 5 and 100."""

import math
from datetime import datetime, timedelta

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from conbench import stats
from tests import stats_port as port
from tests import stats_reference as ref

DAY1 = datetime(2024, 1, 1)
TOLERANCE = 1e-12
EXAMPLES = settings(max_examples=100, deadline=None)

# Quarter steps keep every diff exact (ties and equal diffs abound); the other two are noisy.
quarters = st.integers(1, 400).map(lambda k: k / 4)
noisy = st.floats(0.5, 1000.0, allow_nan=False, allow_infinity=False)
around_ten = st.integers(-500, 500).map(lambda k: 10.0 + k / 997)
measurements = st.just(0.0) | st.floats(1e-6, 1e6) | st.floats(-1e6, -1e-6)


@st.composite
def histories(draw, max_rows: int = 40) -> list[ref.Row]:
    values = draw(st.sampled_from([quarters, noisy, around_ten]))
    n = draw(st.integers(1, max_rows))
    commits = draw(st.integers(1, n))
    rows = []
    for _ in range(n):
        svs = draw(values)
        if draw(st.integers(0, 9)) == 0:
            svs *= draw(st.sampled_from([0.1, 3.0, 10.0]))
        rows.append(
            ref.Row(
                commit=draw(st.integers(0, commits - 1)),
                result=draw(st.integers(0, 3)),
                svs=svs,
                begins_distribution_change=draw(st.integers(0, 9)) == 0,
            )
        )
    return rows


def points(rows: list[ref.Row]) -> list[stats.Point]:
    return [
        stats.Point(
            commit_ts=DAY1 + timedelta(days=row.commit),
            result_ts=DAY1 + timedelta(seconds=row.result),
            svs=row.svs,
            begins_distribution_change=row.begins_distribution_change,
        )
        for row in rows
    ]


def close(actual: float | None, expected: float | None, scale: float) -> bool:
    """Same None-ness; relative 1e-12, or 1e-12 of the series' magnitude for values that are a
    difference of nearly equal numbers (residuals, and the spread of near-constant residuals)."""
    if actual is None or expected is None:
        return actual is expected
    return math.isclose(actual, expected, rel_tol=TOLERANCE, abs_tol=TOLERANCE * scale)


def assert_same_rows(rows: list[ref.Row], actual: list[stats.PointStats], expected: list[dict]):
    scale = max(abs(row.svs) for row in rows)
    for got, want in zip(actual, expected, strict=True):
        assert (got.is_outlier, got.is_step, got.segment_id) == (
            want["is_outlier"],
            want["is_step"],
            want["segment_id"],
        )
        for name in (
            "rolling_mean_excluding_this_commit",
            "rolling_mean",
            "residual",
            "rolling_stddev",
        ):
            assert close(getattr(got, name), want[name], scale), (name, got, want)


@EXAMPLES
@given(histories(), st.sampled_from([3, 5, 100]), st.booleans())
def test_rolling_stats_match_the_spec_reference(rows, window, include_current):
    expected = ref.rolling_stats(rows, include_current, window)
    assume(not expected.fragile)
    actual = stats.rolling_stats(points(rows), include_current=include_current, window=window)
    assert_same_rows(rows, actual, expected.rows)


@EXAMPLES
@given(histories(), st.floats(0.5, 1000.0), st.sampled_from(["s", "i/s"]))
def test_lookback_z_matches_the_spec_reference(rows, contender, unit):
    dist_mean, dist_std, fragile = ref.distribution(rows)
    assume(not fragile)
    actual_mean, actual_std = stats.distribution(points(rows))
    scale = max(abs(row.svs) for row in rows)
    assert close(actual_mean, dist_mean, scale)
    assert close(actual_std, dist_std, scale)

    z = ref.signed_z(contender, dist_mean, dist_std, unit)
    analysis = stats.lookback_z(contender, actual_mean, actual_std, unit, 5.0)
    if z is None:
        assert analysis is None or actual_std < TOLERANCE * scale
        return
    # a z whose rounding or threshold decision hangs on the last bits is a knife edge
    assume(dist_std > 1e-6 * scale)
    assume(abs(abs(z) - 5) > 1e-6)
    assume(stats.round4(float(z) * (1 + 1e-9)) == stats.round4(float(z) * (1 - 1e-9)))
    assert analysis == {
        "z_threshold": 5.0,
        "z_score": stats.round4(float(z)),
        "regression_indicated": -z > 5,
        "improvement_indicated": z > 5,
    }


@EXAMPLES
@given(histories(), st.sampled_from([3, 5, 100]))
def test_history_point_z_matches_the_spec_reference(rows, window):
    expected = ref.rolling_stats(rows, include_current=False, window=window)
    assume(not expected.fragile)
    actual = stats.rolling_stats(points(rows), include_current=False, window=window)
    scale = max(abs(row.svs) for row in rows)
    for row, got, want in zip(rows, actual, expected.rows, strict=True):
        std = want["rolling_stddev"]
        z = ref.signed_z(row.svs, want["rolling_mean_excluding_this_commit"], std, "s")
        if z is None or std < 1e-6 * scale:
            continue
        assert math.isclose(stats.point_z(row.svs, got, "s"), float(z), rel_tol=1e-9, abs_tol=1e-9)


@EXAMPLES
@given(measurements, measurements, st.sampled_from(["s", "B", "i/s", "B/s"]))
def test_pairwise_matches_the_spec_reference(baseline, contender, unit):
    percent = ref.pairwise_percent(baseline, contender, unit)
    analysis = stats.pairwise(baseline, contender, unit, 5.0)
    if percent is None:
        assert analysis is None
        return
    assume(abs(abs(percent) - 5) > 1e-9)
    assume(stats.round4(float(percent) * (1 + 1e-9)) == stats.round4(float(percent) * (1 - 1e-9)))
    assert analysis == {
        "percent_change": stats.round4(float(percent)),
        "percent_threshold": 5.0,
        "regression_indicated": -percent > 5,
        "improvement_indicated": percent > 5,
    }


# Bit for bit against the straightforward port -----------------------------------------------------

edgy = st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.0, 1e300, -1e-300, 5e-324, math.inf, -math.inf])
anything = st.floats(allow_nan=True, allow_infinity=True) | edgy


@st.composite
def long_histories(draw) -> list[ref.Row]:
    """Histories of every kind, long enough to slide windows of 3 and 5 many times, with values
    no measurement has (NaN, infinities, signed zeros) that the kernels still must agree on."""
    rows = draw(histories(max_rows=60))
    if draw(st.booleans()):
        for row in rows:
            if draw(st.integers(0, 4)) == 0:
                row.svs = draw(anything)
    return rows


def bits(values: object) -> str:
    """A text that tells floats apart bit for bit (repr distinguishes -0.0 and 0.0)."""
    return repr(values)


@settings(max_examples=300, deadline=None)
@given(long_histories(), st.sampled_from([1, 2, 3, 5, 100]), st.booleans())
def test_rolling_stats_equal_the_straightforward_port_bit_for_bit(rows, window, include_current):
    expected = port.rolling_stats(points(rows), include_current=include_current, window=window)
    actual = stats.rolling_stats(points(rows), include_current=include_current, window=window)
    assert bits(actual) == bits(expected)


@settings(max_examples=300, deadline=None)
@given(long_histories())
def test_distribution_equals_the_straightforward_port_bit_for_bit(rows):
    assert bits(stats.distribution(points(rows))) == bits(port.distribution(points(rows)))


@settings(max_examples=200, deadline=None)
@given(st.lists(anything, max_size=40), st.sampled_from([1, 2, 3, 5, 100]))
def test_shift_z_scores_equal_the_straightforward_port_bit_for_bit(svs, window):
    assert bits(stats.shift_z_scores(svs, window)) == bits(port.shift_z_scores(svs, window))
