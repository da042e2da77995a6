"""A slow, obviously-correct reading of spec 04 §5-§7, for the property tests of conbench.stats.

Written from the spec text only: plain loops over rows, no rolling state. Arithmetic is exact
(`fractions.Fraction`) and a float appears only in the outputs, so this is the true value that
conbench.stats (pandas' floating-point kernels) must approximate to 1e-12. Where the spec's answer
sits on a knife edge (a z of exactly 5, a diff at a clipping percentile, a spread far below the
data's magnitude) the last bit of any float implementation decides it; `fragile` reports such a
series so the property tests can set it aside.
"""

import math
from dataclasses import dataclass, field
from fractions import Fraction

SHIFT_THRESHOLD = 5
EDGE = Fraction(1, 10**8)


@dataclass
class Row:
    commit: int
    result: int
    svs: float
    begins_distribution_change: bool


@dataclass
class Reference:
    rows: list[dict]
    fragile: list[str] = field(default_factory=list)


def mean(values: list[Fraction]) -> Fraction:
    return sum(values, Fraction(0)) / len(values)


def variance(values: list[Fraction]) -> Fraction:
    """Sample variance, ddof 1."""
    m = mean(values)
    return sum(((v - m) ** 2 for v in values), Fraction(0)) / (len(values) - 1)


def percentile(values: list[Fraction], percent: int) -> Fraction:
    """Linear interpolation at position p·(n−1) of the sorted values."""
    ordered = sorted(values)
    position = Fraction(percent, 100) * (len(ordered) - 1)
    below = math.floor(position)
    if below == len(ordered) - 1:
        return ordered[below]
    return ordered[below] + (ordered[below + 1] - ordered[below]) * (position - below)


def dense_rank(commit: int, commits: list[int]) -> int:
    return len({c for c in commits if c <= commit})


def to_float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def rolling_stats(rows: list[Row], include_current: bool, window: int) -> Reference:
    """§5 for one fingerprint; output rows are in input order."""
    fragile: list[str] = []
    n = len(rows)
    # A.1: sort by (commit, result), stable
    order = sorted(range(n), key=lambda k: (rows[k].commit, rows[k].result))
    r = [rows[k] for k in order]
    svs = [Fraction(row.svs) for row in r]
    scale = max((abs(v) for v in svs), default=Fraction(1)) or Fraction(1)

    # A.2-3: row-wise diffs, clipped outside [q05, q95]
    d: list[Fraction | None] = [None] + [svs[i] - svs[i - 1] for i in range(1, n)]
    defined = [x for x in d if x is not None]
    c: list[Fraction | None] = [None] * n
    if defined:
        q05, q95 = percentile(defined, 5), percentile(defined, 95)
        for i in range(n):
            if d[i] is not None and q05 <= d[i] <= q95:
                c[i] = d[i]
            for q in (q05, q95):
                if d[i] is not None and d[i] != q and abs(d[i] - q) <= EDGE * scale:
                    fragile.append(f"row {i}: diff at a clipping percentile")

    # A.4-5: trimmed mean/std over the last `window` rows; |z| > 5 is a shift
    shift = [False] * n
    for i in range(n):
        values = [c[j] for j in range(max(0, i - window + 1), i + 1) if c[j] is not None]
        if d[i] is None or len(values) < 2:
            continue
        m, var = mean(values), variance(values)
        if var == 0:
            shift[i] = d[i] != m
            continue
        z2 = (d[i] - m) ** 2 / var
        shift[i] = z2 > SHIFT_THRESHOLD**2
        spread = max(abs(v) for v in values)
        if var < (EDGE * spread) ** 2 or abs(z2 - SHIFT_THRESHOLD**2) <= EDGE:
            fragile.append(f"row {i}: shift z on a knife edge")

    # A.6: a shift followed by a shift is an outlier; a lone shift is a step
    revert = [shift[i] and i + 1 < n and shift[i + 1] for i in range(n)]
    is_step = [shift[i] and not revert[i] and not (i > 0 and revert[i - 1]) for i in range(n)]

    # B: segment = annotated rows at or before this commit
    segment = [
        sum(1 for j in range(n) if r[j].commit <= r[i].commit and r[j].begins_distribution_change)
        for i in range(n)
    ]

    # C-D: windows over dense commit ranks, outliers removed first
    kept = [i for i in range(n) if not revert[i]]
    excluding: dict[int, Fraction] = {}
    current: dict[int, Fraction] = {}
    for i in kept:
        same_segment = [j for j in kept if segment[j] == segment[i]]
        commits = [r[j].commit for j in same_segment]
        rank = dense_rank(r[i].commit, commits)
        previous = [
            svs[j]
            for j in same_segment
            if rank - window <= dense_rank(r[j].commit, commits) <= rank - 1
        ]
        excluding[i] = mean(previous) if previous else svs[i]
        now = [
            svs[j]
            for j in same_segment
            if rank - window + 1 <= dense_rank(r[j].commit, commits) <= rank
        ]
        current[i] = mean(now) if include_current else excluding[i]
    residual = {i: svs[i] - excluding[i] for i in kept}

    stddev: dict[int, float | None] = {}
    all_commits = [r[j].commit for j in kept]
    for i in kept:
        rank = dense_rank(r[i].commit, all_commits)
        low, high = (rank - window + 1, rank) if include_current else (rank - window, rank - 1)
        values = [residual[j] for j in kept if low <= dense_rank(r[j].commit, all_commits) <= high]
        stddev[i] = math.sqrt(variance(values)) if len(values) >= 2 else None

    out: list[dict] = [{}] * n
    for i, k in enumerate(order):
        out[k] = {
            "is_outlier": revert[i],
            "is_step": is_step[i],
            "segment_id": segment[i],
            "rolling_mean_excluding_this_commit": to_float(excluding.get(i)),
            "rolling_mean": to_float(current.get(i)),
            "residual": to_float(residual.get(i)),
            "rolling_stddev": stddev.get(i),
        }
    return Reference(out, fragile)


def distribution(rows: list[Row]) -> tuple[float | None, float | None, list[str]]:
    """§6 step 4: rolling_mean/rolling_stddev of a non-outlier row of the latest commit."""
    if not rows:
        return None, None, []
    ref = rolling_stats(rows, include_current=True, window=100)
    latest = max(row.commit for row in rows)
    for row, out in zip(rows, ref.rows, strict=True):
        if row.commit == latest and not out["is_outlier"]:
            return out["rolling_mean"], out["rolling_stddev"], ref.fragile
    return None, None, ref.fragile


def less_is_better(unit: str) -> bool:
    return unit in ("B", "s", "ns")


def signed_z(svs: float, dist_mean: float | None, dist_std: float | None, unit: str):
    """§6 steps 5-6: None when undefined; negated for less-is-better units."""
    if dist_mean is None or dist_std is None or dist_std == 0:
        return None
    z = (Fraction(svs) - Fraction(dist_mean)) / Fraction(dist_std)
    return -z if less_is_better(unit) else z


def pairwise_percent(baseline: float, contender: float, unit: str) -> Fraction | None:
    """§7: signed relative change in percent; None for a zero baseline."""
    if baseline == 0:
        return None
    relative = (Fraction(contender) - Fraction(baseline)) / abs(Fraction(baseline))
    return (-relative if less_is_better(unit) else relative) * 100
