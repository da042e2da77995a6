"""Comparisons (01 §4.3, §7.7; 02 §8): the rows a compare needs and the analysis of one pair.

A pair is analysed only when both results exist, neither failed, and their units agree: then the
pairwise percent change (04 §7) and the contender's lookback z-score against the distribution of
its fingerprint at the baseline commit (04 §6).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from conbench import sql, stats
from conbench.aggregates import less_is_better
from conbench.queries.lookback import Distribution

_Q = sql.load("compare")


class UnitMismatch(ValueError):
    """Two non-failed results with different units; str() is upstream's message."""


@dataclass(frozen=True)
class Analysis:
    """One compared pair: the shared unit (None unless analysed), each side's SVS (None when
    absent or failed) and the two analysis objects (None unless analysed)."""

    unit: str | None
    baseline_svs: float | None
    contender_svs: float | None
    pairwise: dict[str, Any] | None
    lookback_z_score: dict[str, Any] | None

    @property
    def less_is_better(self) -> bool | None:
        return less_is_better(self.unit) if self.unit is not None else None


@dataclass
class RunPairPage:
    """One page of a run compare: its fingerprints, ascending, and each run's results on them."""

    fingerprints: list[str]
    baseline: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    contender: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def analysable_fingerprints(self) -> list[str]:
        """The fingerprints with a pair to analyse: only these need a lookback distribution."""
        return [
            fingerprint
            for fingerprint, contenders in self.contender.items()
            if any(
                comparable(baseline, contender)
                for baseline in self.baseline.get(fingerprint, ())
                for contender in contenders
            )
        ]


def exists_run(conn: psycopg.Connection, run_id: str) -> bool:
    """Whether any result carries this run id."""
    return conn.execute(_Q["exists_run"], {"run_id": run_id}).fetchone()["found"]


def get_run_commit(conn: psycopg.Connection, run_id: str) -> dict[str, Any] | None:
    """The commit row of a run (of its lowest-id result with a commit), or None."""
    return conn.execute(_Q["get_run_commit"], {"run_id": run_id}).fetchone()


def run_pair_page(
    conn: psycopg.Connection,
    baseline_run_id: str,
    contender_run_id: str,
    *,
    cursor: str | None,
    page_size: int,
) -> RunPairPage:
    """The next `page_size` fingerprints of both runs after `cursor`, with every result of either
    run on them, in one query. Rows have the columns of `queries.results.get_result` that a
    compare side shows (measurements as floats), `case_name`, `case_tags` and `context_tags`."""
    rows = conn.execute(
        _Q["list_run_pair_results"],
        {
            "run_ids": [baseline_run_id, contender_run_id],
            "cursor": cursor,
            "page_size": page_size,
        },
    ).fetchall()
    decode = _json_decoder()
    baseline: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    contender: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        for column in _JSON_COLUMNS:
            row[column] = decode(row[column])
        if row["run_id"] == baseline_run_id:
            baseline[row["history_fingerprint"]].append(row)
        if row["run_id"] == contender_run_id:
            contender[row["history_fingerprint"]].append(row)
    page = RunPairPage(sorted({row["history_fingerprint"] for row in rows}))
    page.baseline, page.contender = dict(baseline), dict(contender)
    return page


_JSON_COLUMNS = (
    "run_tags",
    "optional_benchmark_info",
    "validation",
    "change_annotations",
    "error",
    "case_tags",
    "context_tags",
)


def _json_decoder() -> Callable[[str | None], Any]:
    """`json.loads` for the JSON documents of one page: run tags, context tags and annotations
    repeat on every row, so each distinct text is decoded once and its value shared by the rows
    carrying it (nothing mutates them)."""
    decoded: dict[str, Any] = {}

    def decode(text: str | None) -> Any:
        if text is None:
            return None
        value = decoded.get(text, _MISSING)
        if value is _MISSING:
            value = decoded[text] = json.loads(text)
        return value

    return decode


_MISSING = object()


def svs_of(row: dict[str, Any] | None) -> float | None:
    """The SVS of a result row (04 §4); None when absent or failed (04 §3)."""
    if row is None or row["error"] is not None:
        return None
    return stats.single_value_summary(row["unit"], row["data"], row["min"], row["max"])


def comparable(baseline: dict[str, Any] | None, contender: dict[str, Any] | None) -> bool:
    """Both sides exist and neither failed: the pair gets a unit and analyses."""
    return svs_of(baseline) is not None and svs_of(contender) is not None


def analyse(
    baseline: dict[str, Any] | None,
    contender: dict[str, Any] | None,
    distribution: Distribution,
    *,
    threshold: float,
    threshold_z: float,
) -> Analysis:
    """The legacy comparison of two result rows (either may be None); `distribution` is the
    lookback distribution of the contender's fingerprint at the baseline commit.

    Raises UnitMismatch when both are analysable but their units differ."""
    baseline_svs, contender_svs = svs_of(baseline), svs_of(contender)
    if baseline_svs is None or contender_svs is None:
        return Analysis(None, baseline_svs, contender_svs, None, None)
    assert baseline is not None and contender is not None
    unit = baseline["unit"]
    if contender["unit"] != unit:
        raise UnitMismatch(
            "Benchmark units do not match. Benchmark result with ID "
            f"'{baseline['id']}' has unit '{unit}' and benchmark result "
            f"with ID '{contender['id']}' has unit '{contender['unit']}'."
        )
    dist_mean, dist_std = distribution
    return Analysis(
        unit,
        baseline_svs,
        contender_svs,
        stats.pairwise(baseline_svs, contender_svs, unit, threshold),
        stats.lookback_z(contender_svs, dist_mean, dist_std, unit, threshold_z),
    )


def not_comparable_reason(baseline: dict[str, Any], contender: dict[str, Any]) -> str | None:
    """Why the modern compare refuses a pair (02 §8, checked in this order), or None."""
    if baseline["history_fingerprint"] != contender["history_fingerprint"]:
        return "not comparable: history fingerprints differ"
    if baseline["unit"] != contender["unit"]:
        return "not comparable: units differ"
    if svs_of(baseline) is None:
        return "not comparable: baseline result failed"
    if svs_of(contender) is None:
        return "not comparable: contender result failed"
    return None
