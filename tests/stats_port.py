"""The straightforward port of upstream's §5 pipeline and pandas' rolling kernels, operation for
operation and row by row, as conbench.stats and conbench.rolling were before they were tuned for
speed. The property tests hold the tuned code to these numbers bit for bit (exact equality, not a
tolerance): any reordering of a floating-point operation would show.
"""

import math
import operator
from collections.abc import Sequence
from datetime import datetime

from conbench.aggregates import numpy_percentile as percentile
from conbench.stats import DISTRIBUTION_COMMITS, SHIFT_Z_THRESHOLD, Point, PointStats

NAN = math.nan


def _nondecreasing(values: Sequence[int]) -> bool:
    return all(map(operator.le, values, values[1:]))


def _first(values: Sequence[float], index: int) -> float:
    # pandas reads values[s] even for an empty window at the very end; it is never used then.
    return values[index] if index < len(values) else NAN


def fixed_windows(n: int, window: int) -> tuple[list[int], list[int]]:
    """`Series.rolling(window)` bounds: rows `max(0, i-window+1) .. i`."""
    ends = list(range(1, n + 1))
    return [max(0, end - window) for end in ends], ends


def commit_windows(
    ranks: Sequence[int], window: int, *, closed: str
) -> tuple[list[int], list[int]]:
    """Upstream `_CommitIndexer` bounds over sorted dense commit ranks 1..R.

    `closed="right"` covers ranks `[r-window+1, r]`, `closed="left"` ranks `[r-window, r-1]`
    (numpy `searchsorted` with that side).
    """
    top = ranks[-1] if ranks else 0
    # first[k] = index of the first row of rank k for k = 1..top, and len(ranks) for top+1
    first = [0] * (top + 2)
    for index in range(len(ranks) - 1, -1, -1):
        first[ranks[index]] = index
    first[top + 1] = len(ranks)
    shift = 1 if closed == "right" else 0
    back = shift - window
    starts = [first[rank + back] if rank + back >= 1 else 0 for rank in ranks]
    ends = [first[rank + shift] for rank in ranks]
    return starts, ends


def dense_ranks(keys: Sequence[object]) -> list[int]:
    """Dense ranks (1, 2, ...) of already sorted keys; equal keys share a rank."""
    ranks: list[int] = []
    rank = 0
    for i, key in enumerate(keys):
        if i == 0 or key != keys[i - 1]:
            rank += 1
        ranks.append(rank)
    return ranks


def roll_mean(values: Sequence[float], starts: Sequence[int], ends: Sequence[int]) -> list[float]:
    """pandas `roll_mean` (`Rolling.mean()`, `min_periods=1`): Kahan sums added and removed as
    the window slides, a run of equal values gives that value, a sign-consistent window keeps
    its sign. State is reset whenever a window does not overlap the previous one."""
    monotonic = _nondecreasing(starts) and _nondecreasing(ends)
    output: list[float] = []
    nobs = neg_ct = same = 0
    sum_x = compensation_add = compensation_remove = 0.0
    prev_value = NAN
    last_start = last_end = 0
    for i, (s, e) in enumerate(zip(starts, ends, strict=True)):
        if i == 0 or not monotonic or s >= last_end:
            nobs = neg_ct = same = 0
            sum_x = compensation_add = compensation_remove = 0.0
            prev_value = _first(values, s)
            add_from = s
        else:
            for j in range(last_start, s):
                val = values[j]
                if val == val:
                    nobs -= 1
                    y = -val - compensation_remove
                    t = sum_x + y
                    compensation_remove = t - sum_x - y
                    sum_x = t
                    if val < 0 or (val == 0 and math.copysign(1.0, val) < 0):
                        neg_ct -= 1
            add_from = last_end
        for j in range(add_from, e):
            val = values[j]
            if val == val:
                nobs += 1
                y = val - compensation_add
                t = sum_x + y
                compensation_add = t - sum_x - y
                sum_x = t
                if val < 0 or (val == 0 and math.copysign(1.0, val) < 0):
                    neg_ct += 1
                same = same + 1 if val == prev_value else 1
                prev_value = val
        if nobs <= 0:
            result = NAN
        elif same >= nobs:
            result = prev_value
        else:
            result = sum_x / nobs
            if (neg_ct == 0 and result < 0) or (neg_ct == nobs and result > 0):
                result = 0.0
        output.append(result)
        last_start, last_end = s, e
    return output


def roll_std(values: Sequence[float], starts: Sequence[int], ends: Sequence[int]) -> list[float]:
    """pandas `roll_var` + `zsqrt` (`Rolling.std()`, ddof 1, `min_periods=1`): Welford updates
    with Kahan compensation; a run of equal values gives exactly 0, a negative variance 0."""
    monotonic = _nondecreasing(starts) and _nondecreasing(ends)
    output: list[float] = []
    same = 0
    nobs = mean_x = ssqdm_x = compensation_add = compensation_remove = 0.0
    prev_value = NAN
    last_start = last_end = 0
    for i, (s, e) in enumerate(zip(starts, ends, strict=True)):
        if i == 0 or not monotonic or s >= last_end:
            prev_value = _first(values, s)
            same = 0
            nobs = mean_x = ssqdm_x = compensation_add = compensation_remove = 0.0
            add_from = s
        else:
            for j in range(last_start, s):
                val = values[j]
                if val == val:
                    nobs -= 1
                    if nobs:
                        prev_mean = mean_x - compensation_remove
                        y = val - compensation_remove
                        t = y - mean_x
                        compensation_remove = t + mean_x - y
                        mean_x = mean_x - t / nobs
                        ssqdm_x = ssqdm_x - (val - prev_mean) * (val - mean_x)
                    else:
                        mean_x = ssqdm_x = 0.0
            add_from = last_end
        for j in range(add_from, e):
            val = values[j]
            if val == val:
                nobs += 1
                same = same + 1 if val == prev_value else 1
                prev_value = val
                prev_mean = mean_x - compensation_add
                y = val - compensation_add
                t = y - mean_x
                compensation_add = t + mean_x - y
                mean_x = mean_x + t / nobs
                ssqdm_x = ssqdm_x + (val - prev_mean) * (val - mean_x)
        if nobs <= 1:
            result = NAN
        elif same >= nobs:
            result = 0.0
        else:
            variance = ssqdm_x / (nobs - 1.0)
            result = 0.0 if variance < 0 else math.sqrt(variance)
        output.append(result)
        last_start, last_end = s, e
    return output


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
