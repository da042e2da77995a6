"""History of a series: the legacy samples and CSV download (01 §7.8-7.9) and the modern
HistorySeries (02 §7); `/api/series` (02 §6) is registered here too, from `series.py`."""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import falcon

from conbench import stats
from conbench.aggregates import less_is_better
from conbench.db import QueryTimeout
from conbench.errors import NotFound, Problem
from conbench.queries import history
from conbench.queries.history import Member
from conbench.resources import series
from conbench.resources.common import base_url
from conbench.resources.series import READ_TIMEOUT, hardware_summary
from conbench.serialize import naive_iso, rfc3339, to_float, to_floats

EMPTY_HISTORY = "no default-branch history for this result"
CSV_COLUMNS = ("commit_time", "result_id", "commit_hash", "svs", "min")


def add_routes(table, ctx) -> None:  # type: ignore[no-untyped-def]
    table.add("/api/history/{benchmark_result_id}/", LegacyHistory(ctx), "legacy")
    table.add("/api/history/download/{benchmark_result_id}/", LegacyHistoryCsv(ctx), "legacy")
    table.add("/api/history/{benchmark_result_id}", ModernHistory(ctx), "modern")
    table.add("/api/history", ModernHistoryByFingerprint(ctx), "modern")
    series.add_routes(table, ctx)


class EmptyHistory(NotFound):
    """The CSV of a result without default-branch history (01 §3 deviation): a 404 whose body
    is `{"description": ...}` only, like the legacy business errors."""

    def to_dict(self) -> dict[str, Any]:
        return {"description": self.description}


class _Resource:
    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        self.db = ctx.db
        self.settings = ctx.settings
        self.build = ctx.build

    def _legacy_history(self, result_id: str) -> tuple[dict[str, Any], list[Member]]:
        """The head row and the members (include current off) of a result's series; 404 for an
        unknown result."""
        with self.db.connection() as conn:
            head = history.get_series_head(conn, result_id)
            if head is None:
                raise NotFound()
            rows = history.list_history_points(conn, head["history_fingerprint"])
        return head, history.with_statistics(rows, include_current=False)


class LegacyHistory(_Resource):
    """`GET /api/history/<id>/`: every point of the result's series with `zscorestats`."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, benchmark_result_id: str) -> None:
        head, members = self._legacy_history(benchmark_result_id)
        resp.media = {
            "data": [legacy_sample(head, member) for member in members],
            "metadata": {"next_page_cursor": None},
        }


class LegacyHistoryCsv(_Resource):
    """`GET /api/history/download/<id>/`: the series as a CSV attachment (01 §7.9)."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, benchmark_result_id: str) -> None:
        head, members = self._legacy_history(benchmark_result_id)
        if not members:
            raise EmptyHistory(EMPTY_HISTORY)
        url = f"{base_url(req, self.settings)}/api/history/download/{benchmark_result_id}"
        resp.content_type = "text/csv"
        resp.set_header("Content-Disposition", _attachment(csv_filename(head)))
        resp.text = history_csv(head, members, url=url, build_commit=self.build.commit)


class ModernHistory(_Resource):
    """`GET /api/history/{benchmark_result_id}`: the HistorySeries of a result's series."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, benchmark_result_id: str) -> None:
        try:
            with self.db.connection() as conn:
                head = history.get_series_head(conn, benchmark_result_id)
                if head is None:
                    raise Problem(404, "not found")
                rows = history.list_history_points(conn, head["history_fingerprint"])
        except QueryTimeout:
            raise Problem(422, READ_TIMEOUT) from None
        resp.media = history_series(head, history.with_statistics(rows, include_current=False))


class ModernHistoryByFingerprint(_Resource):
    """`GET /api/history?fingerprint=`: the HistorySeries of a fingerprint."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        fingerprint = (req.get_param("fingerprint") or "").strip()
        if not fingerprint:
            raise Problem(422, "fingerprint is required")
        try:
            with self.db.connection() as conn:
                rows = history.list_history_points(conn, fingerprint)
                head_id = (
                    rows[-1]["id"] if rows else history.get_newest_result_id(conn, fingerprint)
                )
                head = history.get_series_head(conn, head_id) if head_id else None
        except QueryTimeout:
            raise Problem(422, READ_TIMEOUT) from None
        if head is None:
            raise Problem(404, "not found")
        resp.media = history_series(head, history.with_statistics(rows, include_current=False))


def legacy_sample(head: dict[str, Any], member: Member) -> dict[str, Any]:
    """One item of the legacy history (01 §7.8): undefined stddev as 0.0, outliers' means null."""
    row, point = member.row, member.stats
    return {
        "benchmark_result_id": row["id"],
        "history_fingerprint": head["history_fingerprint"],
        "case_id": row["case_id"],
        "context_id": row["context_id"],
        "mean": to_float(row["mean"]),
        "single_value_summary": member.svs,
        "single_value_summary_type": stats.svs_type(row["unit"]),
        "data": to_floats(row["data"]),
        "times": to_floats(row["times"]),
        "unit": row["unit"] if row["unit"] is not None else "undefined",
        "hardware_hash": head["hardware_hash"],
        "repository": row["repository"],
        "commit_hash": row["commit_sha"],
        "commit_msg": row["commit_message"],
        "commit_timestamp": naive_iso(row["commit_timestamp"]),
        "result_timestamp": naive_iso(row["result_timestamp"]),
        "run_name": (row["run_tags"] or {}).get("name"),
        "run_tags": row["run_tags"],
        "zscorestats": {
            "begins_distribution_change": member.begins_distribution_change,
            "segment_id": float(point.segment_id),
            "rolling_mean_excluding_this_commit": point.rolling_mean_excluding_this_commit,
            "rolling_mean": point.rolling_mean,
            "residual": point.residual,
            "rolling_stddev": point.rolling_stddev if point.rolling_stddev is not None else 0.0,
            "is_outlier": point.is_outlier,
        },
    }


def history_series(head: dict[str, Any], members: list[Member]) -> dict[str, Any]:
    """The modern HistorySeries (02 §7); the unit is the newest point's (else the head's)."""
    unit = members[-1].row["unit"] if members else head["unit"]
    return {
        "history_fingerprint": head["history_fingerprint"],
        "name": head["case_name"],
        "tags": head["case_tags"],
        "context": head["context_tags"],
        "hardware": hardware_summary(head),
        "repository": head["repository"],
        "unit": unit,
        "less_is_better": less_is_better(unit),
        "single_value_summary_type": stats.svs_type(unit),
        "points": [modern_point(member) for member in members],
    }


def modern_point(member: Member) -> dict[str, Any]:
    """One point of the modern history: statistics as computed (null stays null), the point's
    z-score against the commits before it."""
    row, point = member.row, member.stats
    return {
        "result_id": row["id"],
        "run_id": row["run_id"],
        "batch_id": row["batch_id"],
        "commit_sha": row["commit_sha"],
        "commit_message": row["commit_message"],
        "commit_timestamp": rfc3339(row["commit_timestamp"]),
        "result_timestamp": rfc3339(row["result_timestamp"]),
        "single_value_summary": member.svs,
        "data": to_floats(row["data"]),
        "mean": to_float(row["mean"]),
        "begins_distribution_change": member.begins_distribution_change,
        "segment_id": point.segment_id,
        "rolling_mean": point.rolling_mean,
        "rolling_mean_excluding_this_commit": point.rolling_mean_excluding_this_commit,
        "residual": point.residual,
        "rolling_stddev": point.rolling_stddev,
        "z_score": stats.point_z(member.svs, point, row["unit"]),
        "is_outlier": point.is_outlier,
        "is_step": point.is_step,
    }


def numstr(value: float | None, sigfigs: int = 8) -> str:
    """A float with at most `sigfigs` significant figures, positional, trailing zeros trimmed
    (upstream `numstr`: numpy `format_float_positional(trim="-", fractional=False)`); NaN for
    a missing value."""
    if value is None or math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = format(Decimal(f"{value:.{sigfigs}g}"), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def csv_filename(head: dict[str, Any]) -> str:
    return f"conbench-history-{head['case_name']}-{head['history_fingerprint']}.csv"


def history_csv(head: dict[str, Any], members: list[Member], *, url: str, build_commit: str) -> str:
    """The CSV download: `# ` header lines, then one row per point oldest first (01 §7.9)."""
    permutation = " ".join(f"{key}={value}" for key, value in sorted(head["case_tags"].items()))
    generated_at = datetime.now(UTC).replace(microsecond=0).isoformat()
    lines = [
        f"# original URL: {url}",
        f"# generated by conbench, commit {build_commit}",
        f"# generated at {generated_at}",
        f"# for result {head['id']}",
        f"# benchmark name: {head['case_name']}",
        f"# case permutation: {permutation}",
        f"# hardware hash: {head['hardware_hash']}",
        f"# history fingerprint: {head['history_fingerprint']}",
        f"# single value summary (SVS) type: {stats.svs_type(members[0].row['unit'])}",
    ]
    buffer = io.StringIO()
    buffer.write("\n".join(lines) + "\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    # pandas prints a whole index at one resolution: fractions for all rows or for none.
    fractional = any(m.row["commit_timestamp"].microsecond for m in members)
    time_format = "%Y-%m-%d %H:%M:%S.%f+00:00" if fractional else "%Y-%m-%d %H:%M:%S+00:00"
    for member in members:
        row = member.row
        writer.writerow(
            (
                row["commit_timestamp"].strftime(time_format),
                row["id"],
                row["commit_sha"],
                numstr(member.svs),
                numstr(min(float(v) for v in row["data"])),
            )
        )
    return buffer.getvalue()


def _attachment(filename: str) -> str:
    """`attachment; filename="…"`, with an RFC 6266 `filename*` when the name is not ASCII."""
    ascii_name = filename.encode("ascii", "replace").decode("ascii")
    plain = ascii_name.replace("\\", "\\\\").replace('"', '\\"')
    value = f'attachment; filename="{plain}"'
    if ascii_name != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value
