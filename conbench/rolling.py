"""pandas' rolling-window kernels in pure Python, so 04 §5 statistics match upstream bit for bit.

Upstream computes every rolling mean and standard deviation with pandas (2.2) `roll_mean` and
`roll_var`: online Kahan-compensated sums and Welford updates that add and remove values as the
window slides, with two guards against floating-point artifacts (a run of identical values gives
exactly that value / exactly 0). A naive sum differs in the last bits, which flips round4 outputs
now and then, so the kernels are ported operation for operation. NaN marks a missing value.

The loops are written for speed (a history of 1,000 points runs four of them per request): local
names only, and a window that slides by one value touches it directly instead of through a range.
tests/stats_port.py keeps the straightforward port they are checked against, bit for bit.
"""

import math
import operator
from collections.abc import Sequence
from itertools import chain, compress, repeat

NAN = math.nan


def _nondecreasing(values: Sequence[int]) -> bool:
    return all(map(operator.le, values, values[1:]))


def run_bounds(keys: Sequence[object]) -> list[int]:
    """Index of the first row of each run of equal consecutive keys, then `len(keys)`: for
    sorted commit timestamps, the bounds of each commit's rows (its dense rank's rows)."""
    n = len(keys)
    if n == 0:
        return [0]
    return [0, *compress(range(1, n), map(operator.ne, keys[1:], keys)), n]


def commit_windows(
    bounds: Sequence[int], window: int, *, closed: str
) -> tuple[list[int], list[int]]:
    """Upstream `_CommitIndexer` bounds, one window per commit, given `run_bounds` of one group.

    `closed="right"` covers commit ranks `[r-window+1, r]`, `closed="left"` ranks
    `[r-window, r-1]` (numpy `searchsorted` with that side); every row of a commit has the same
    window, so one per commit is enough (the kernels give a repeated window the same value).
    """
    commits = len(bounds) - 1
    back = window if closed == "left" else window - 1
    head = [bounds[0]] * min(back, commits)
    starts = head + list(bounds[: max(0, commits - back)])
    ends = list(bounds[:commits]) if closed == "left" else list(bounds[1:])
    return starts, ends


def commit_of_rows(bounds: Sequence[int]) -> list[int] | None:
    """For `run_bounds`, the commit index of each row; None when every commit has one row."""
    commits = len(bounds) - 1
    if commits == bounds[-1] - bounds[0]:
        return None
    counts = map(operator.sub, bounds[1:], bounds)
    return list(chain.from_iterable(map(repeat, range(commits), counts)))


def per_row(values: list[float], rows: list[int] | None) -> list[float]:
    """Per-commit values repeated for each row of the commit (`rows` from `commit_of_rows`)."""
    return values if rows is None else list(map(values.__getitem__, rows))


def roll_mean(values: Sequence[float], starts: Sequence[int], ends: Sequence[int]) -> list[float]:
    """pandas `roll_mean` (`Rolling.mean()`, `min_periods=1`): Kahan sums added and removed as
    the window slides, a run of equal values gives that value, a sign-consistent window keeps
    its sign. State is reset whenever a window does not overlap the previous one."""
    monotonic = _nondecreasing(starts) and _nondecreasing(ends)
    size = len(values)
    copysign = math.copysign
    output: list[float] = []
    append = output.append
    nobs = neg_ct = same = 0
    sum_x = compensation_add = compensation_remove = 0.0
    prev_value = NAN
    last_start = 0
    last_end = -1  # the first window always resets
    for s, e in zip(starts, ends, strict=True):
        if s >= last_end or not monotonic:
            nobs = neg_ct = same = 0
            sum_x = compensation_add = compensation_remove = 0.0
            # pandas reads values[s] even for an empty window at the very end; never used then
            prev_value = values[s] if s < size else NAN
            add_from = s
        else:
            if s - last_start == 1:
                val = values[last_start]
                if val == val:
                    nobs -= 1
                    y = -val - compensation_remove
                    t = sum_x + y
                    compensation_remove = t - sum_x - y
                    sum_x = t
                    if val < 0 or (val == 0 and copysign(1.0, val) < 0):
                        neg_ct -= 1
            else:
                for j in range(last_start, s):
                    val = values[j]
                    if val == val:
                        nobs -= 1
                        y = -val - compensation_remove
                        t = sum_x + y
                        compensation_remove = t - sum_x - y
                        sum_x = t
                        if val < 0 or (val == 0 and copysign(1.0, val) < 0):
                            neg_ct -= 1
            add_from = last_end
        if e - add_from == 1:
            val = values[add_from]
            if val == val:
                nobs += 1
                y = val - compensation_add
                t = sum_x + y
                compensation_add = t - sum_x - y
                sum_x = t
                if val < 0 or (val == 0 and copysign(1.0, val) < 0):
                    neg_ct += 1
                same = same + 1 if val == prev_value else 1
                prev_value = val
        else:
            for j in range(add_from, e):
                val = values[j]
                if val == val:
                    nobs += 1
                    y = val - compensation_add
                    t = sum_x + y
                    compensation_add = t - sum_x - y
                    sum_x = t
                    if val < 0 or (val == 0 and copysign(1.0, val) < 0):
                        neg_ct += 1
                    same = same + 1 if val == prev_value else 1
                    prev_value = val
        if nobs <= 0:
            append(NAN)
        elif same >= nobs:
            append(prev_value)
        else:
            result = sum_x / nobs
            if (neg_ct == 0 and result < 0) or (neg_ct == nobs and result > 0):
                result = 0.0
            append(result)
        last_start, last_end = s, e
    return output


def roll_std(values: Sequence[float], starts: Sequence[int], ends: Sequence[int]) -> list[float]:
    """pandas `roll_var` + `zsqrt` (`Rolling.std()`, ddof 1, `min_periods=1`): Welford updates
    with Kahan compensation; a run of equal values gives exactly 0, a negative variance 0."""
    monotonic = _nondecreasing(starts) and _nondecreasing(ends)
    size = len(values)
    sqrt = math.sqrt
    output: list[float] = []
    append = output.append
    same = nobs = 0
    mean_x = ssqdm_x = compensation_add = compensation_remove = 0.0
    prev_value = NAN
    last_start = 0
    last_end = -1  # the first window always resets
    for s, e in zip(starts, ends, strict=True):
        if s >= last_end or not monotonic:
            prev_value = values[s] if s < size else NAN
            same = nobs = 0
            mean_x = ssqdm_x = compensation_add = compensation_remove = 0.0
            add_from = s
        else:
            if s - last_start == 1:
                val = values[last_start]
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
        if e - add_from == 1:
            val = values[add_from]
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
        else:
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
            append(NAN)
        elif same >= nobs:
            append(0.0)
        else:
            variance = ssqdm_x / (nobs - 1.0)
            append(0.0 if variance < 0 else sqrt(variance))
        last_start, last_end = s, e
    return output


def fixed_mean_std(values: Sequence[float], window: int) -> tuple[list[float], list[float]]:
    """`Series.rolling(window)` mean and std (rows `max(0, i-window+1) .. i`): `roll_mean` and
    `roll_std` in one pass, as both see the same values enter and leave in the same order."""
    n = len(values)
    if window < 2 or n == 0:
        ends = list(range(1, n + 1))
        starts = [max(0, end - window) for end in ends]
        return roll_mean(values, starts, ends), roll_std(values, starts, ends)
    copysign = math.copysign
    sqrt = math.sqrt
    means: list[float] = []
    stds: list[float] = []
    add_mean = means.append
    add_std = stds.append
    # shared by both kernels: observations, the run of equal values; then roll_mean's Kahan sum
    # and negative count; then roll_var's Welford mean and sum of squared deviations
    nobs = same = neg_ct = 0
    prev_value = values[0]
    sum_x = sum_add = sum_remove = 0.0
    mean_x = ssqdm_x = var_add = var_remove = 0.0
    for i in range(n):
        if i >= window:
            val = values[i - window]
            if val == val:
                nobs -= 1
                y = -val - sum_remove
                t = sum_x + y
                sum_remove = t - sum_x - y
                sum_x = t
                if val < 0 or (val == 0 and copysign(1.0, val) < 0):
                    neg_ct -= 1
                if nobs:
                    prev_mean = mean_x - var_remove
                    y = val - var_remove
                    t = y - mean_x
                    var_remove = t + mean_x - y
                    mean_x = mean_x - t / nobs
                    ssqdm_x = ssqdm_x - (val - prev_mean) * (val - mean_x)
                else:
                    mean_x = ssqdm_x = 0.0
        val = values[i]
        if val == val:
            nobs += 1
            y = val - sum_add
            t = sum_x + y
            sum_add = t - sum_x - y
            sum_x = t
            if val < 0 or (val == 0 and copysign(1.0, val) < 0):
                neg_ct += 1
            same = same + 1 if val == prev_value else 1
            prev_value = val
            prev_mean = mean_x - var_add
            y = val - var_add
            t = y - mean_x
            var_add = t + mean_x - y
            mean_x = mean_x + t / nobs
            ssqdm_x = ssqdm_x + (val - prev_mean) * (val - mean_x)
        if nobs <= 0:
            add_mean(NAN)
            add_std(NAN)
            continue
        if same >= nobs:
            add_mean(prev_value)
            add_std(0.0 if nobs > 1 else NAN)
            continue
        result = sum_x / nobs
        if (neg_ct == 0 and result < 0) or (neg_ct == nobs and result > 0):
            result = 0.0
        add_mean(result)
        if nobs <= 1:
            add_std(NAN)
        else:
            variance = ssqdm_x / (nobs - 1.0)
            add_std(0.0 if variance < 0 else sqrt(variance))
    return means, stds
