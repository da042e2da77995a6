"""pandas' rolling-window kernels in pure Python, so 04 §5 statistics match upstream bit for bit.

Upstream computes every rolling mean and standard deviation with pandas (2.2) `roll_mean` and
`roll_var`: online Kahan-compensated sums and Welford updates that add and remove values as the
window slides, with two guards against floating-point artifacts (a run of identical values gives
exactly that value / exactly 0). A naive sum differs in the last bits, which flips round4 outputs
now and then, so the kernels are ported operation for operation. NaN marks a missing value.
"""

import math
import operator
from collections.abc import Sequence

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
