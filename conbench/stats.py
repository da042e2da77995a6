"""Pure statistics of spec 04: single value summary, the failed-result rule (from
conbench.aggregates), shift/outlier detection, segments, rolling windows over commits, the
lookback z-score and the pairwise percent change.

No I/O. The rolling means and standard deviations run through `conbench.rolling`, a port of the
pandas kernels upstream uses, so the numbers equal the legacy server's (golden tests in
tests/test_stats.py, an independent reference in tests/stats_reference.py). A history of 1,000
points is computed per request, so the code works on columns (lists) rather than per-row objects,
runs each kernel once per commit rather than per row, and equals the straightforward row-by-row
port kept in tests/stats_port.py bit for bit (tests/test_stats_properties.py).
"""

import math
import operator
from collections.abc import Sequence
from datetime import datetime
from itertools import compress
from typing import NamedTuple

from conbench.aggregates import is_failed, less_is_better
from conbench.aggregates import numpy_percentile as percentile
from conbench.rolling import (
    commit_of_rows,
    commit_windows,
    fixed_mean_std,
    per_row,
    roll_mean,
    roll_std,
    run_bounds,
)

__all__ = [
    "DISTRIBUTION_COMMITS",
    "Point",
    "PointStats",
    "SeriesStats",
    "detect_shifts",
    "distribution",
    "distribution_columns",
    "is_failed",
    "lookback_z",
    "pairwise",
    "percentile",
    "point_z",
    "rolling_columns",
    "rolling_stats",
    "round4",
    "segment_ids",
    "shift_z_scores",
    "single_value_summary",
    "svs_type",
]

DISTRIBUTION_COMMITS = 100
SHIFT_Z_THRESHOLD = 5.0
NAN = math.nan


class Point(NamedTuple):
    """One history/distribution row of one fingerprint (a named tuple: built for every row of
    every lookback distribution, ~4 times cheaper than a frozen dataclass)."""

    commit_ts: datetime
    result_ts: datetime
    svs: float
    begins_distribution_change: bool


class PointStats(NamedTuple):
    """The §5 outputs for one row; None where the value is undefined."""

    is_outlier: bool
    is_step: bool
    segment_id: int
    rolling_mean_excluding_this_commit: float | None
    rolling_mean: float | None
    residual: float | None
    rolling_stddev: float | None


class SeriesStats(NamedTuple):
    """The §5 outputs of a series as columns, one list per output aligned with its rows."""

    is_outlier: list[bool]
    is_step: list[bool]
    segment_id: list[int]
    rolling_mean_excluding_this_commit: list[float | None]
    rolling_mean: list[float | None]
    residual: list[float | None]
    rolling_stddev: list[float | None]


def round4(value: float) -> float:
    """Four significant figures, as upstream's `sigfig.round(v, sigfigs=4)` (04 §6 step 7)."""
    return float(f"{value:.4g}")


def svs_type(unit: str | None) -> str:
    """`min` for less-is-better units, `max` for rates, `n/a` without a unit (04 §3-§4)."""
    if unit is None:
        return "n/a"
    lower = less_is_better(unit)
    return "max" if lower is False or (lower is None and unit.endswith("/s")) else "min"


def single_value_summary(unit: str | None, data, min_, max_) -> float | None:
    """The best repetition of one result (04 §4); None when failed or the unit has no direction."""
    if unit is None or data is None or len(data) == 0 or None in data:
        return None
    lower = less_is_better(unit)
    if lower is None:
        return None
    if lower:
        return float(min_) if min_ is not None else float(min(data))
    return float(max_) if max_ is not None else float(max(data))


def _divide(numerator: float, denominator: float) -> float:
    """IEEE division (x/0 = ±inf, 0/0 = NaN) as numpy does it; Python raises instead."""
    if denominator == 0:
        if numerator == 0 or numerator != numerator:
            return math.nan
        return math.copysign(math.inf, numerator) * math.copysign(1.0, denominator)
    return numerator / denominator


def _diff_statistics(
    svs: Sequence[float], window: int
) -> tuple[list[float], list[float], list[float]]:
    """Row-wise diffs of a sorted series with the trimmed rolling mean and std of the diffs
    (§5 A steps 2-4)."""
    svs = list(svs)
    diffs = [NAN, *map(operator.sub, svs[1:], svs)]
    defined = sorted([d for d in diffs if d == d])
    q05 = percentile(defined, 5.0) if defined else NAN
    q95 = percentile(defined, 95.0) if defined else NAN
    clipped = [NAN if (d < q05 or d > q95) else d for d in diffs]
    means, stds = fixed_mean_std(clipped, window)
    return diffs, means, stds


def shift_z_scores(svs: Sequence[float], window: int = DISTRIBUTION_COMMITS) -> list[float]:
    """Per row of a sorted series: z of its row-wise diff against the trimmed rolling mean/std of
    the diffs (§5 A steps 2-5); NaN where undefined."""
    if not svs:
        return []
    diffs, means, stds = _diff_statistics(svs, window)
    # `if s`: a NaN std divides (giving NaN), only a zero one needs IEEE semantics
    return [
        (d - m) / s if s else _divide(d - m, s) for d, m, s in zip(diffs, means, stds, strict=True)
    ]


def detect_shifts(
    svs: Sequence[float], window: int = DISTRIBUTION_COMMITS
) -> tuple[list[bool], list[bool]]:
    """(is_step, is_outlier) per row of a sorted series (§5 A step 6): two shifts in a row are a
    spike that reverts (outlier); a lone shift is a step."""
    n = len(svs)
    if not n:
        return [], []
    threshold = SHIFT_Z_THRESHOLD
    shift = [
        abs((d - m) / s) > threshold if s else abs(_divide(d - m, s)) > threshold
        for d, m, s in zip(*_diff_statistics(svs, window), strict=True)
    ]
    if not any(shift):
        return shift, shift[:]
    reverts = [*map(operator.and_, shift, shift[1:]), False]
    steps = [shift[i] and not reverts[i] and not (i > 0 and reverts[i - 1]) for i in range(n)]
    return steps, reverts


def segment_ids(commit_ts: Sequence[datetime], begins: Sequence[bool]) -> list[int]:
    """Per sorted row: annotated rows (outliers included) at or before its commit (§5 B)."""
    if not any(begins):
        return [0] * len(commit_ts)
    annotated: dict[datetime, int] = {}
    for ts, begin in zip(commit_ts, begins, strict=True):
        if begin:
            annotated[ts] = annotated.get(ts, 0) + 1
    ids: list[int] = []
    total = 0
    for i, ts in enumerate(commit_ts):
        if i == 0 or ts != commit_ts[i - 1]:
            total += annotated.get(ts, 0)
        ids.append(total)
    return ids


def _grouped_windows(
    bounds: list[int], groups: list[int], window: int, closed: str
) -> tuple[list[int], list[int]]:
    """Commit windows computed per group (segment) of consecutive commits, as one concatenated
    array (what pandas' groupby-rolling hands to its kernels); `groups` has one key per commit."""
    if groups[0] == groups[-1]:
        return commit_windows(bounds, window, closed=closed)
    starts: list[int] = []
    ends: list[int] = []
    cuts = run_bounds(groups)
    for lo, hi in zip(cuts, cuts[1:], strict=False):
        local_starts, local_ends = commit_windows(bounds[lo : hi + 1], window, closed=closed)
        starts += local_starts
        ends += local_ends
    return starts, ends


def _undefined_as_none(values: list[float]) -> list[float | None]:
    return [None if v != v else v for v in values]


def _sorted_stats(
    commit_ts: Sequence[datetime],
    svs: list[float],
    begins: Sequence[bool],
    include_current: bool,
    window: int,
) -> SeriesStats:
    """§5 for rows sorted by (commit timestamp, result timestamp)."""
    steps, outliers = detect_shifts(svs, window)
    segments = segment_ids(commit_ts, begins)
    # outliers are rare: drop them from copies, and put them back as None at the end
    dropped = list(compress(range(len(svs)), outliers))
    kept_ts, kept_svs, kept_segments = list(commit_ts), svs, segments
    if dropped:
        kept_svs, kept_segments = svs[:], segments[:]
        for i in reversed(dropped):
            del kept_ts[i], kept_svs[i], kept_segments[i]
    # one window per commit (rows of a commit share their windows), then back to rows
    bounds = run_bounds(kept_ts)
    rows = commit_of_rows(bounds)
    groups = [kept_segments[i] for i in bounds[:-1]]
    previous = roll_mean(kept_svs, *_grouped_windows(bounds, groups, window, "left"))
    previous = per_row(previous, rows)
    excluding = [v if m != m else m for m, v in zip(previous, kept_svs, strict=True)]
    residuals = list(map(operator.sub, kept_svs, excluding))
    closed = "right" if include_current else "left"
    stddevs = per_row(roll_std(residuals, *commit_windows(bounds, window, closed=closed)), rows)

    excluding_or_none = _undefined_as_none(excluding)
    if include_current:
        means = roll_mean(kept_svs, *_grouped_windows(bounds, groups, window, "right"))
        means_or_none = _undefined_as_none(per_row(means, rows))
    else:
        means_or_none = excluding_or_none
    columns = [
        excluding_or_none,
        means_or_none,
        _undefined_as_none(residuals),
        _undefined_as_none(stddevs),
    ]
    if dropped:
        for column in {id(c): c for c in columns}.values():
            for i in dropped:
                column.insert(i, None)
    return SeriesStats(outliers, steps, segments, *columns)


def rolling_columns(
    commit_ts: Sequence[datetime],
    result_ts: Sequence[datetime],
    svs: Sequence[float],
    begins: Sequence[bool],
    *,
    include_current: bool,
    window: int = DISTRIBUTION_COMMITS,
    ordered: bool = False,
) -> SeriesStats:
    """§5 for one fingerprint's rows given as columns; the result is aligned with the input
    order. `ordered` promises rows already sorted by commit and result timestamp (as the history
    queries return them), which skips the check."""
    n = len(svs)
    if n == 0:
        return SeriesStats([], [], [], [], [], [], [])
    order = None if ordered else _sort_order(commit_ts, result_ts)
    if order is None:
        return _sorted_stats(commit_ts, [float(v) for v in svs], begins, include_current, window)
    computed = _sorted_stats(
        [commit_ts[k] for k in order],
        [float(svs[k]) for k in order],
        [begins[k] for k in order],
        include_current,
        window,
    )
    columns = []
    for column in computed:
        unsorted: list = [None] * n
        for i, k in enumerate(order):
            unsorted[k] = column[i]
        columns.append(unsorted)
    return SeriesStats(*columns)


def _sort_order(commit_ts: Sequence[datetime], result_ts: Sequence[datetime]) -> list[int] | None:
    """The stable sort of rows by (commit timestamp, result timestamp); None if already sorted."""
    keys = list(zip(commit_ts, result_ts, strict=True))
    if all(map(operator.le, keys, keys[1:])):
        return None
    return sorted(range(len(keys)), key=keys.__getitem__)


def rolling_stats(
    points: Sequence[Point], *, include_current: bool, window: int = DISTRIBUTION_COMMITS
) -> list[PointStats]:
    """§5 for one fingerprint's rows; the result is aligned with the input order."""
    columns = rolling_columns(
        [p.commit_ts for p in points],
        [p.result_ts for p in points],
        [p.svs for p in points],
        [p.begins_distribution_change for p in points],
        include_current=include_current,
        window=window,
    )
    return list(map(PointStats, *columns))


def distribution_columns(
    commit_ts: Sequence[datetime],
    result_ts: Sequence[datetime],
    svs: Sequence[float],
    begins: Sequence[bool],
) -> tuple[float | None, float | None]:
    """`distribution` of rows given as columns, in any order."""
    if not svs:
        return None, None
    order = _sort_order(commit_ts, result_ts)
    if order is not None:
        commit_ts = [commit_ts[k] for k in order]
        svs = [svs[k] for k in order]
        begins = [begins[k] for k in order]
    svs = [float(v) for v in svs]
    window = DISTRIBUTION_COMMITS
    _steps, outliers = detect_shifts(svs, window)
    segments = segment_ids(commit_ts, begins)
    if any(outliers):
        kept = list(compress(range(len(svs)), map(operator.not_, outliers)))
        commit_ts = [commit_ts[i] for i in kept]
        svs = [svs[i] for i in kept]
        segments = [segments[i] for i in kept]
    # The newest row is never an outlier (a revert needs a next row): the newest commit's
    # statistics are those of the last window. Windows are per commit, as in `_sorted_stats`.
    bounds = run_bounds(commit_ts)
    groups = [segments[i] for i in bounds[:-1]]
    previous = roll_mean(svs, *_grouped_windows(bounds, groups, window, "left"))
    previous = per_row(previous, commit_of_rows(bounds))
    residuals = [v - (v if m != m else m) for m, v in zip(previous, svs, strict=True)]
    # the mean of the newest commit needs only its own segment: the kernel restarts per segment
    first = groups.index(groups[-1])
    lo = bounds[first]
    local = [b - lo for b in bounds[first:]]
    mean = roll_mean(svs[lo:], *commit_windows(local, window, closed="right"))[-1]
    std = roll_std(residuals, *commit_windows(bounds, window, closed="right"))[-1]
    return (None if mean != mean else mean), (None if std != std else std)


def distribution(points: Sequence[Point]) -> tuple[float | None, float | None]:
    """(dist_mean, dist_std) of a lookback distribution: a non-outlier row of the latest commit,
    include-current statistics (04 §6 step 4)."""
    return distribution_columns(
        [p.commit_ts for p in points],
        [p.result_ts for p in points],
        [p.svs for p in points],
        [p.begins_distribution_change for p in points],
    )


def _signed_z(svs: float, mean: float | None, std: float | None, unit: str | None) -> float | None:
    """(svs - mean) / std, negated for less-is-better units: positive = improvement (§6 5-6)."""
    lower = less_is_better(unit)
    if mean is None or std is None or std == 0 or lower is None:
        return None
    z = (svs - mean) / std
    if z != z:
        return None
    return -z if lower and z != 0 else z


def lookback_z(
    contender_svs: float,
    dist_mean: float | None,
    dist_std: float | None,
    unit: str,
    threshold_z: float,
) -> dict | None:
    """The `lookback_z_score` analysis object (04 §6 steps 5-7), or None when z is undefined."""
    z = _signed_z(contender_svs, dist_mean, dist_std, unit)
    if z is None:
        return None
    return {
        "z_threshold": float(threshold_z),
        "z_score": round4(z),
        "regression_indicated": -z > threshold_z,
        "improvement_indicated": z > threshold_z,
    }


def point_z(svs: float, stats: PointStats, unit: str) -> float | None:
    """The history z of one point (04 §9): against the statistics of the commits before it."""
    return _signed_z(svs, stats.rolling_mean_excluding_this_commit, stats.rolling_stddev, unit)


def pairwise(baseline_svs: float, contender_svs: float, unit: str, threshold: float) -> dict | None:
    """The `pairwise` analysis object (04 §7); None for a zero baseline or a directionless unit."""
    lower = less_is_better(unit)
    if lower is None or baseline_svs == 0 or baseline_svs != baseline_svs:
        return None
    relative = (contender_svs - baseline_svs) / abs(baseline_svs)
    if relative != relative:
        return None
    if lower and relative != 0:
        relative = -relative
    percent = relative * 100.0
    return {
        "percent_change": round4(percent),
        "percent_threshold": float(threshold),
        "regression_indicated": -percent > threshold,
        "improvement_indicated": percent > threshold,
    }
