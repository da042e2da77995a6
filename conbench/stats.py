"""Pure statistics of spec 04: single value summary, the failed-result rule (from
conbench.aggregates), shift/outlier detection, segments, rolling windows over commits, the
lookback z-score and the pairwise percent change.

No I/O. The rolling means and standard deviations run through `conbench.rolling`, a port of the
pandas kernels upstream uses, so the numbers equal the legacy server's (golden tests in
tests/test_stats.py, an independent reference in tests/stats_reference.py).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from conbench.aggregates import is_failed, less_is_better
from conbench.aggregates import numpy_percentile as percentile
from conbench.rolling import (
    commit_windows,
    dense_ranks,
    fixed_windows,
    roll_mean,
    roll_std,
)

__all__ = [
    "DISTRIBUTION_COMMITS",
    "Point",
    "PointStats",
    "detect_shifts",
    "distribution",
    "is_failed",
    "lookback_z",
    "pairwise",
    "percentile",
    "point_z",
    "rolling_stats",
    "round4",
    "segment_ids",
    "shift_z_scores",
    "single_value_summary",
    "svs_type",
]

DISTRIBUTION_COMMITS = 100
SHIFT_Z_THRESHOLD = 5.0


@dataclass(frozen=True)
class Point:
    """One history/distribution row of one fingerprint."""

    commit_ts: datetime
    result_ts: datetime
    svs: float
    begins_distribution_change: bool


@dataclass(frozen=True)
class PointStats:
    """The §5 outputs for one row; None where the value is undefined."""

    is_outlier: bool
    is_step: bool
    segment_id: int
    rolling_mean_excluding_this_commit: float | None
    rolling_mean: float | None
    residual: float | None
    rolling_stddev: float | None


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
    if unit is None or data is None or len(data) == 0 or any(v is None for v in data):
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


def shift_z_scores(svs: Sequence[float], window: int = DISTRIBUTION_COMMITS) -> list[float]:
    """Per row of a sorted series: z of its row-wise diff against the trimmed rolling mean/std of
    the diffs (§5 A steps 2-5); NaN where undefined."""
    n = len(svs)
    diffs = [math.nan if i == 0 else svs[i] - svs[i - 1] for i in range(n)]
    defined = sorted(d for d in diffs if d == d)
    q05 = percentile(defined, 5.0) if defined else math.nan
    q95 = percentile(defined, 95.0) if defined else math.nan
    clipped = [math.nan if (d < q05 or d > q95) else d for d in diffs]
    starts, ends = fixed_windows(n, window)
    means = roll_mean(clipped, starts, ends)
    stds = roll_std(clipped, starts, ends)
    return [_divide(d - m, s) for d, m, s in zip(diffs, means, stds, strict=True)]


def detect_shifts(
    svs: Sequence[float], window: int = DISTRIBUTION_COMMITS
) -> tuple[list[bool], list[bool]]:
    """(is_step, is_outlier) per row of a sorted series (§5 A step 6): two shifts in a row are a
    spike that reverts (outlier); a lone shift is a step."""
    n = len(svs)
    shift = [abs(z) > SHIFT_Z_THRESHOLD for z in shift_z_scores(svs, window)]
    reverts = [shift[i] and i + 1 < n and shift[i + 1] for i in range(n)]
    steps = [shift[i] and not reverts[i] and not (i > 0 and reverts[i - 1]) for i in range(n)]
    return steps, reverts


def segment_ids(commit_ts: Sequence[datetime], begins: Sequence[bool]) -> list[int]:
    """Per sorted row: annotated rows (outliers included) at or before its commit (§5 B)."""
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
    commit_ts: Sequence[datetime], groups: Sequence[object], window: int, closed: str
) -> tuple[list[int], list[int]]:
    """Commit windows computed per group of consecutive equal keys, as one concatenated array
    (what pandas' groupby-rolling hands to its kernels)."""
    n = len(groups)
    cuts = [0, *(i for i in range(1, n) if groups[i] != groups[i - 1]), n]
    starts: list[int] = []
    ends: list[int] = []
    for lo, hi in zip(cuts, cuts[1:], strict=False):
        if lo == hi:
            continue
        local_starts, local_ends = commit_windows(
            dense_ranks(commit_ts[lo:hi]), window, closed=closed
        )
        starts += [lo + i for i in local_starts]
        ends += [lo + i for i in local_ends]
    return starts, ends


def _defined(value: float) -> float | None:
    return None if value != value else value


def rolling_stats(
    points: Sequence[Point], *, include_current: bool, window: int = DISTRIBUTION_COMMITS
) -> list[PointStats]:
    """§5 for one fingerprint's rows; the result is aligned with the input order."""
    order = sorted(range(len(points)), key=lambda k: (points[k].commit_ts, points[k].result_ts))
    rows = [points[k] for k in order]
    steps, outliers = detect_shifts([float(p.svs) for p in rows], window)
    segments = segment_ids(
        [p.commit_ts for p in rows], [p.begins_distribution_change for p in rows]
    )

    kept = [i for i in range(len(rows)) if not outliers[i]]
    kept_ts = [rows[i].commit_ts for i in kept]
    kept_svs = [float(rows[i].svs) for i in kept]
    kept_segments = [segments[i] for i in kept]

    starts, ends = _grouped_windows(kept_ts, kept_segments, window, "left")
    previous = roll_mean(kept_svs, starts, ends)
    excluding = [svs if m != m else m for m, svs in zip(previous, kept_svs, strict=True)]
    if include_current:
        starts, ends = _grouped_windows(kept_ts, kept_segments, window, "right")
        means = roll_mean(kept_svs, starts, ends)
    else:
        means = excluding
    residuals = [svs - m for svs, m in zip(kept_svs, excluding, strict=True)]
    closed = "right" if include_current else "left"
    starts, ends = _grouped_windows(kept_ts, [0] * len(kept), window, closed)
    stddevs = roll_std(residuals, starts, ends)

    undefined = (None, None, None, None)
    values: list[tuple] = [undefined] * len(rows)
    for position, row in enumerate(kept):
        values[row] = (
            _defined(excluding[position]),
            _defined(means[position]),
            _defined(residuals[position]),
            _defined(stddevs[position]),
        )
    result: list[PointStats | None] = [None] * len(points)
    for i, k in enumerate(order):
        excl, mean, residual, stddev = values[i]
        result[k] = PointStats(outliers[i], steps[i], segments[i], excl, mean, residual, stddev)
    return result  # type: ignore[return-value]


def distribution(points: Sequence[Point]) -> tuple[float | None, float | None]:
    """(dist_mean, dist_std) of a lookback distribution: a non-outlier row of the latest commit,
    include-current statistics (04 §6 step 4)."""
    if not points:
        return None, None
    stats = rolling_stats(points, include_current=True)
    latest = max(p.commit_ts for p in points)
    for point, row in zip(points, stats, strict=True):
        if point.commit_ts == latest and not row.is_outlier:
            return row.rolling_mean, row.rolling_stddev
    return None, None


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
