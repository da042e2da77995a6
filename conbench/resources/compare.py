"""Compare routes: legacy `/api/compare/benchmark-results/<a>...<b>/` and
`/api/compare/runs/<a>...<b>/` (01 §4.3-§4.4, §7.7), modern `/api/compare/benchmark-results`
(02 §8)."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import falcon

from conbench import serialize, stats
from conbench.db import QueryTimeout
from conbench.errors import BadRequest, ConbenchError, NotFound, Problem
from conbench.queries import compare, results
from conbench.queries.compare import Analysis, UnitMismatch
from conbench.queries.lookback import NO_DISTRIBUTION, lookback_for
from conbench.resources.common import legacy_cursor, page_size

DEFAULT_THRESHOLD = 5.0
COMPARE_TIMEOUT_MS = 60_000
BUSY = "doing other /compare work, retry soon"
TIMED_OUT = "the comparison took too long and was cancelled; retry with a smaller page_size"
READ_TIMED_OUT = (
    "read query timed out; narrow the request, reduce page size, add filters, or retry a more "
    "specific lookup"
)


def add_routes(table, ctx) -> None:  # type: ignore[no-untyped-def]
    table.add("/api/compare/benchmark-results/{ids}/", LegacyResultCompare(ctx.db), "legacy")
    table.add("/api/compare/runs/{ids}/", LegacyRunCompare(ctx.db), "legacy")
    table.add("/api/compare/benchmark-results", ResultCompare(ctx.db), "modern")


class Slots:
    """At most `count` compare computations at once in this process; a request waits
    `wait_s` for a slot (01 §4.4: upstream had one slot)."""

    def __init__(self, count: int = 2, wait_s: float = 0.1) -> None:
        self._semaphore = threading.BoundedSemaphore(count)
        self.wait_s = wait_s

    @contextmanager
    def held(self) -> Iterator[bool]:
        """Yields whether a slot was obtained; it is released on exit."""
        acquired = self._semaphore.acquire(timeout=self.wait_s)
        try:
            yield acquired
        finally:
            if acquired:
                self._semaphore.release()


COMPARE_SLOTS = Slots()


class _LegacyCompare:
    def __init__(self, db) -> None:  # type: ignore[no-untyped-def]
        self.db = db

    def on_get(self, req: falcon.Request, resp: falcon.Response, ids: str) -> None:
        with COMPARE_SLOTS.held() as acquired:
            if not acquired:
                resp.status = 429
                resp.set_header("Retry-After", "1")
                resp.media = {"description": BUSY}
                return
            try:
                resp.media = self.compare(req, ids)
            except QueryTimeout:
                raise ConbenchError(TIMED_OUT, status=504) from None

    def compare(self, req: falcon.Request, ids: str) -> Any:
        raise NotImplementedError


class LegacyResultCompare(_LegacyCompare):
    """Any two results with the same unit; the z-score uses the baseline result's commit."""

    def compare(self, req: falcon.Request, ids: str) -> Any:
        baseline_id, contender_id = _split_ids(ids)
        threshold, threshold_z = _legacy_thresholds(req)
        with self.db.connection(statement_timeout_ms=COMPARE_TIMEOUT_MS) as conn:
            baseline = _result_or_404(conn, baseline_id)
            contender = _result_or_404(conn, contender_id)
            distribution = NO_DISTRIBUTION
            if compare.comparable(baseline, contender):
                fingerprint = contender["history_fingerprint"]
                distribution = lookback_for(conn, baseline["commit"], [fingerprint])[fingerprint]
        try:
            analysis = compare.analyse(
                baseline, contender, distribution, threshold=threshold, threshold_z=threshold_z
            )
        except UnitMismatch as exc:
            raise BadRequest(str(exc)) from None
        same = baseline["history_fingerprint"] == contender["history_fingerprint"]
        return _legacy_comparison(
            baseline["history_fingerprint"] if same else None, baseline, contender, analysis
        )


class LegacyRunCompare(_LegacyCompare):
    """A page of fingerprints of both runs; pairs are the cartesian product per fingerprint."""

    def compare(self, req: falcon.Request, ids: str) -> Any:
        size = page_size(req)
        cursor = legacy_cursor(req)
        threshold, threshold_z = _legacy_thresholds(req)
        baseline_run, contender_run = _split_ids(ids)
        with self.db.connection(statement_timeout_ms=COMPARE_TIMEOUT_MS) as conn:
            for run_id in (baseline_run, contender_run):
                if not compare.exists_run(conn, run_id):
                    raise NotFound(f"no benchmark results found for run ID: '{run_id}'")
            page = compare.run_pair_page(
                conn, baseline_run, contender_run, cursor=cursor, page_size=size
            )
            wanted = page.analysable_fingerprints()
            baseline_commit = compare.get_run_commit(conn, baseline_run) if wanted else None
            distributions = lookback_for(conn, baseline_commit, wanted)
        data = []
        for fingerprint in page.fingerprints:
            distribution = distributions.get(fingerprint, NO_DISTRIBUTION)
            for baseline in page.baseline.get(fingerprint) or [None]:
                for contender in page.contender.get(fingerprint) or [None]:
                    try:
                        analysis = compare.analyse(
                            baseline,
                            contender,
                            distribution,
                            threshold=threshold,
                            threshold_z=threshold_z,
                        )
                    except UnitMismatch:
                        continue  # upstream drops such pairs silently
                    data.append(_legacy_comparison(fingerprint, baseline, contender, analysis))
        full = len(page.fingerprints) == size
        return {
            "data": data,
            "metadata": {"next_page_cursor": page.fingerprints[-1] if full else None},
        }


class ResultCompare:
    """Two results of one series (02 §8): stricter than legacy, 422 when not comparable."""

    def __init__(self, db) -> None:  # type: ignore[no-untyped-def]
        self.db = db

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        baseline_id, contender_id = req.get_param("baseline"), req.get_param("contender")
        if not baseline_id or not contender_id:
            raise Problem(422, "baseline and contender are required")
        threshold = _modern_threshold(req, "threshold")
        threshold_z = _modern_threshold(req, "threshold_z")
        try:
            with self.db.connection() as conn:
                baseline = results.get_result(conn, baseline_id)
                contender = results.get_result(conn, contender_id)
                if baseline is None or contender is None:
                    raise Problem(404, "not found")
                reason = compare.not_comparable_reason(baseline, contender)
                if reason is not None:
                    raise Problem(422, reason)
                fingerprint = contender["history_fingerprint"]
                distribution = lookback_for(conn, baseline["commit"], [fingerprint])[fingerprint]
        except QueryTimeout:
            raise Problem(422, READ_TIMED_OUT) from None
        analysis = compare.analyse(
            baseline, contender, distribution, threshold=threshold, threshold_z=threshold_z
        )
        resp.media = {
            "history_fingerprint": fingerprint,
            "unit": analysis.unit,
            "less_is_better": analysis.less_is_better,
            "baseline": _modern_side(baseline, analysis.baseline_svs),
            "contender": _modern_side(contender, analysis.contender_svs),
            "analysis": {
                "pairwise": analysis.pairwise,
                "lookback_z_score": analysis.lookback_z_score,
            },
        }


def _split_ids(ids: str) -> tuple[str, str]:
    """`<baseline>...<contender>` with upstream's 404 texts."""
    if "..." not in ids:
        raise NotFound("last URL path segment must be of pattern <id>...<id>")
    baseline, contender = ids.split("...", 1)
    if not baseline:
        raise NotFound("empty baseline ID")
    if not contender:
        raise NotFound("empty contender ID")
    return baseline, contender


def _legacy_thresholds(req: falcon.Request) -> tuple[float, float]:
    """`threshold` and `threshold_z` as floats, default 5 (Deviation: unparsable is a 400)."""
    values = []
    for name in ("threshold", "threshold_z"):
        raw = req.get_param(name)
        if raw is None:
            values.append(DEFAULT_THRESHOLD)
            continue
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise BadRequest({"_errors": [f"{name} must be a number"]})
        values.append(value)
    return values[0], values[1]


def _modern_threshold(req: falcon.Request, name: str) -> float:
    raw = req.get_param(name)
    if raw is None:
        return DEFAULT_THRESHOLD
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise Problem(422, f"invalid {name}: must be a finite number greater than zero")
    return value


def _result_or_404(conn: Any, result_id: str) -> dict[str, Any]:
    row = results.get_result(conn, result_id)
    if row is None:
        raise NotFound(f"no benchmark result found with ID: '{result_id}'")
    return row


def _legacy_comparison(
    fingerprint: str | None,
    baseline: dict[str, Any] | None,
    contender: dict[str, Any] | None,
    analysis: Analysis,
) -> dict[str, Any]:
    """The compare object of 01 §7.7."""
    return {
        "unit": analysis.unit,
        "history_fingerprint": fingerprint,
        "less_is_better": analysis.less_is_better,
        "baseline": _legacy_side(baseline, analysis.baseline_svs),
        "contender": _legacy_side(contender, analysis.contender_svs),
        "analysis": {
            "pairwise": analysis.pairwise,
            "lookback_z_score": analysis.lookback_z_score,
        },
    }


def _legacy_side(row: dict[str, Any] | None, svs: float | None) -> dict[str, Any] | None:
    if row is None:
        return None
    case_tags = row["case_tags"]
    return {
        "benchmark_result_id": row["id"],
        "benchmark_name": row["case_name"],
        "case_permutation": case_permutation(case_tags),
        "language": row["context_tags"].get("benchmark_language", "unknown"),
        "single_value_summary": None if svs is None else stats.round4(svs),
        "error": row["error"],
        "batch_id": row["batch_id"],
        "run_id": row["run_id"],
        "tags": {"name": row["case_name"], **case_tags},
        "result": serialize.result_core(row),
    }


def case_permutation(case_tags: dict[str, Any]) -> str:
    """`k=v, k2=v2` sorted by key, without `name`; `no-permutations` when there is none."""
    tags = sorted((k, v) for k, v in case_tags.items() if k != "name")
    return ", ".join(f"{k}={v}" for k, v in tags) if tags else "no-permutations"


def _modern_side(row: dict[str, Any], svs: float | None) -> dict[str, Any]:
    commit = row["commit"]
    return {
        "benchmark_result_id": row["id"],
        "run_id": row["run_id"],
        "commit_sha": commit["sha"] if commit else None,
        "single_value_summary": svs,
        "single_value_summary_type": stats.svs_type(row["unit"]),
    }
