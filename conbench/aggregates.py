"""Units, server-side aggregates and the failed-result rule (04 §1-§3).

The aggregates reproduce upstream's numpy calls bit for bit in pure Python: `np.mean` and the sums
inside `np.std(ddof=1)` use numpy's pairwise summation, `np.percentile` its linear interpolation
(`_lerp`), so stored numbers equal upstream's (Python's `statistics` rounds differently).
"""

import math
from collections.abc import Sequence

KNOWN_UNITS = ("B", "B/s", "s", "ns", "i/s")
AGGREGATE_KEYS = ("min", "max", "mean", "median", "stdev", "q1", "q3", "iqr")
_LESS_IS_BETTER = {"B": True, "B/s": False, "s": True, "ns": True, "i/s": False}
_PAIRWISE_BLOCK = 128


class InvalidUnit(ValueError):
    """A unit outside the whitelist; str() is the exact upstream message."""


def normalize_unit(unit: str) -> str:
    """Return the unit to store (`b/s` becomes `B/s`), or raise InvalidUnit."""
    if unit == "b/s":
        unit = "B/s"
    if unit not in _LESS_IS_BETTER:
        raise InvalidUnit(f"invalid unit string `{unit}`, pick one of: {', '.join(KNOWN_UNITS)}")
    return unit


def less_is_better(unit: str | None) -> bool | None:
    """True for sizes and durations, False for rates; None when the unit has no direction."""
    if unit == "b/s":
        unit = "B/s"
    return _LESS_IS_BETTER.get(unit) if unit is not None else None


def _pairwise_sum(x: Sequence[float], start: int, n: int) -> float:
    """numpy's `pairwise_sum_DOUBLE`: eight accumulators per block, halving above 128 values."""
    if n < 8:
        total = -0.0
        for i in range(start, start + n):
            total += x[i]
        return total
    if n <= _PAIRWISE_BLOCK:
        r = list(x[start : start + 8])
        i = 8
        while i < n - n % 8:
            for j in range(8):
                r[j] += x[start + i + j]
            i += 8
        total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        for k in range(start + i, start + n):
            total += x[k]
        return total
    half = n // 2
    half -= half % 8
    return _pairwise_sum(x, start, half) + _pairwise_sum(x, start + half, n - half)


def numpy_sum(x: Sequence[float]) -> float:
    """`np.sum` of a float64 vector: the identity 0.0 plus the pairwise sum."""
    return 0.0 + _pairwise_sum(x, 0, len(x))


def numpy_mean(x: Sequence[float]) -> float:
    """`np.mean`."""
    return numpy_sum(x) / len(x)


def numpy_stdev(x: Sequence[float]) -> float:
    """`np.std(x, ddof=1)` (sample standard deviation, numpy's two-pass algorithm)."""
    mean = numpy_mean(x)
    squares = [(v - mean) * (v - mean) for v in x]
    return math.sqrt(numpy_sum(squares) / max(len(x) - 1, 0))


def numpy_percentile(sorted_x: Sequence[float], percent: float) -> float:
    """`np.percentile(x, percent)` with the default "linear" method (position `(n-1)*q`, numpy's
    `_lerp`), given sorted values."""
    n = len(sorted_x)
    virtual = (n - 1) * (percent / 100)
    if virtual >= n - 1:
        return sorted_x[-1]
    below = math.floor(virtual)
    gamma = virtual - below
    a, b = sorted_x[below], sorted_x[below + 1]
    diff = b - a
    if gamma >= 0.5:
        return b - diff * (1 - gamma)
    return a + diff * gamma


def numpy_median(sorted_x: Sequence[float]) -> float:
    """`np.median`: the middle value, or the mean of the two middle values."""
    n = len(sorted_x)
    if n % 2:
        return sorted_x[n // 2]
    return numpy_mean([sorted_x[n // 2 - 1], sorted_x[n // 2]])


def compute_aggregates(data: Sequence[float]) -> dict[str, float | None]:
    """The eight aggregates of a successful result (n >= 1, no None); below 3 values only `mean`."""
    result: dict[str, float | None] = dict.fromkeys(AGGREGATE_KEYS)
    result["mean"] = numpy_mean(data)
    if len(data) >= 3:
        ordered = sorted(data)
        q1, q3 = numpy_percentile(ordered, 25), numpy_percentile(ordered, 75)
        result |= {
            "min": ordered[0],
            "max": ordered[-1],
            "median": numpy_median(ordered),
            "stdev": numpy_stdev(data),
            "q1": q1,
            "q3": q3,
            "iqr": q3 - q1,
        }
    return result


def samples_look_like_error(data: Sequence[float | None]) -> bool:
    """Upstream's partial-result test: no samples at all, or any missing sample."""
    return len(data) == 0 or any(value is None for value in data)


def is_failed(
    error: object, data: Sequence[float | None] | None, *, unit_missing: bool = False
) -> bool:
    """The failed rule of 04 §3: error set, data NULL/empty/with a NULL, or (when told) no unit."""
    return unit_missing or data is None or error is not None or samples_look_like_error(data)
