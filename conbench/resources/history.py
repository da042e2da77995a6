"""History of a series: the legacy samples and CSV download (01 §7.8-7.9) and the modern
HistorySeries (02 §7); `/api/series` (02 §6) is registered here too, from `series.py`."""

from __future__ import annotations

import csv
import io
import logging
import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import falcon
import orjson

from conbench import jsoncodec, stats
from conbench.aggregates import less_is_better
from conbench.db import QueryTimeout
from conbench.errors import NotFound, Problem
from conbench.queries import history
from conbench.queries.history import History
from conbench.resources import series
from conbench.resources.common import base_url
from conbench.resources.series import READ_TIMEOUT, hardware_summary

log = logging.getLogger(__name__)

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

    def _store(
        self, head: dict[str, Any], variant: str, body: bytes, newest_id: str | None = None
    ) -> None:
        """Store a computed body in history_cache with the epoch read with the head; never
        fails the request (docs/history-cache.md)."""
        try:
            with self.db.connection() as conn:
                history.upsert_history_cache(
                    conn,
                    head["history_fingerprint"],
                    variant,
                    epoch=head["cache_epoch"],
                    body=body,
                    newest_id=newest_id,
                )
        except Exception as exc:  # noqa: BLE001 - the cache must never fail a read
            log.warning("history cache not stored: %s", exc)

    def _modern_response(
        self, resp: falcon.Response, head: dict[str, Any], columns: dict[str, tuple]
    ) -> None:
        """The HistorySeries of `columns` under `head`, stored when it can be spliced."""
        members = history.with_history_statistics(columns)
        series = history_series(head, members)
        if members:
            tail = _compact_json({name: series[name] for name in MODERN_TAIL})
            body = _splice_modern(head, tail) if tail is not None else None
            if tail is not None and body is not None:
                resp.data = body
                self._store(head, "modern", tail, newest_id=columns["id"][-1])
                return
        resp.media = series


class LegacyHistory(_Resource):
    """`GET /api/history/<id>/`: every point of the result's series with `zscorestats`."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, benchmark_result_id: str) -> None:
        with self.db.connection() as conn:
            head = history.get_series_head_cached(conn, benchmark_result_id, "legacy")
            if head is None:
                raise NotFound()
            if head["cached_body"] is not None:
                resp.data = head["cached_body"]
                return
            columns = history.list_history_columns(conn, head["history_fingerprint"], legacy=True)
        members = history.with_history_statistics(columns)
        body = jsoncodec.dumps({
            "data": legacy_samples(head, members),
            "metadata": {"next_page_cursor": None},
        })  # fmt: skip
        resp.data = body
        self._store(head, history.legacy_variant(head["hardware_hash"]), body)


class LegacyHistoryCsv(_Resource):
    """`GET /api/history/download/<id>/`: the series as a CSV attachment (01 §7.9)."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, benchmark_result_id: str) -> None:
        with self.db.connection() as conn:
            head = history.get_series_head_cached(conn, benchmark_result_id, "csv")
            if head is None:
                raise NotFound()
            cached = head["cached_body"]
            columns = None
            if cached is None:
                columns = history.list_history_columns(
                    conn, head["history_fingerprint"], legacy=True
                )
        if columns is not None:
            if not columns["id"]:
                raise EmptyHistory(EMPTY_HISTORY)
            rows = csv_rows(columns)
            self._store(head, "csv", rows.encode())
        else:
            rows = bytes(cached).decode()
        url = f"{base_url(req, self.settings)}/api/history/download/{benchmark_result_id}"
        resp.content_type = "text/csv"
        resp.set_header("Content-Disposition", _attachment(csv_filename(head)))
        resp.text = csv_preamble(head, url=url, build_commit=self.build.commit) + rows


class ModernHistory(_Resource):
    """`GET /api/history/{benchmark_result_id}`: the HistorySeries of a result's series."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, benchmark_result_id: str) -> None:
        try:
            with self.db.connection() as conn:
                head = history.get_series_head_cached(conn, benchmark_result_id, "modern")
                if head is None:
                    raise Problem(404, "not found")
                if head["cached_body"] is not None:
                    body = _splice_modern(head, head["cached_body"])
                    if body is not None:
                        resp.data = body
                        return
                columns = history.list_history_columns(conn, head["history_fingerprint"])
        except QueryTimeout:
            raise Problem(422, READ_TIMEOUT) from None
        self._modern_response(resp, head, columns)


class ModernHistoryByFingerprint(_Resource):
    """`GET /api/history?fingerprint=`: the HistorySeries of a fingerprint."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        fingerprint = (req.get_param("fingerprint") or "").strip()
        if not fingerprint:
            raise Problem(422, "fingerprint is required")
        try:
            with self.db.connection() as conn:
                cached = history.get_fingerprint_cached(conn, fingerprint)
                if cached["cached_body"] is not None:
                    body = _splice_modern(cached, cached["cached_body"])
                    if body is not None:
                        resp.data = body
                        return
                columns = history.list_history_columns(conn, fingerprint)
                ids = columns["id"]
                head_id = ids[-1] if ids else history.get_newest_result_id(conn, fingerprint)
                head = history.get_series_head(conn, head_id) if head_id else None
        except QueryTimeout:
            raise Problem(422, READ_TIMEOUT) from None
        if head is None:
            raise Problem(404, "not found")
        head["cache_epoch"] = cached["cache_epoch"]
        self._modern_response(resp, head, columns)


# The keys of a HistorySeries that depend only on the series' members (stored in history_cache),
# after those taken from the head (spliced per request).
MODERN_HEAD = ("history_fingerprint", "name", "tags", "context", "hardware", "repository")
MODERN_TAIL = ("unit", "less_is_better", "single_value_summary_type", "points")
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _compact_json(obj: dict[str, Any]) -> bytes | None:
    """orjson's encoding of `obj` as `jsoncodec.dumps` gives it, or None when `jsoncodec` would
    fall back to the standard library (whose output has spaces and cannot be spliced)."""
    try:
        return orjson.dumps(obj, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        return None


def _splice_modern(head: dict[str, Any], tail: bytes) -> bytes | None:
    """The HistorySeries body from the head's part and a stored `MODERN_TAIL` part: what
    `jsoncodec.dumps(history_series(...))` gives, as orjson writes an object's members in order
    without whitespace. None when the head's part needs the standard library's encoder."""
    part = _compact_json(dict(zip(MODERN_HEAD, series_head(head), strict=True)))
    if part is None:
        return None
    return part[:-1] + b"," + bytes(tail)[1:]


def legacy_samples(head: dict[str, Any], members: History) -> list[dict[str, Any]]:
    """The items of the legacy history (01 §7.8): undefined stddev as 0.0, outliers' means null.
    One loop over the columns: this runs for every point of a series of thousands."""
    fingerprint = head["history_fingerprint"]
    hardware_hash = head["hardware_hash"]
    svs_types: dict[str | None, str] = {}
    c, s = members.columns, members.stats
    samples = []
    append = samples.append
    for (
        result_id, case_id, context_id, unit, mean, data, times, tags, result_ts, svs,
        commit_sha, commit_message, repository, commit_ts, begins,
        segment_id, excluding, rolling_mean, residual, stddev, is_outlier,
    ) in zip(
        c["id"], c["case_id"], c["context_id"], c["unit"], c["mean"], c["data"], c["times"],
        c["run_tags"], c["result_timestamp"], c["svs"], c["commit_sha"], c["commit_message"],
        c["repository"], c["commit_timestamp"], members.begins_distribution_change,
        s.segment_id, s.rolling_mean_excluding_this_commit, s.rolling_mean, s.residual,
        s.rolling_stddev, s.is_outlier,
        strict=True,
    ):  # fmt: skip
        svs_type = svs_types.get(unit)
        if svs_type is None:
            svs_type = svs_types[unit] = stats.svs_type(unit)
        append({
            "benchmark_result_id": result_id,
            "history_fingerprint": fingerprint,
            "case_id": case_id,
            "context_id": context_id,
            "mean": mean,
            "single_value_summary": svs,
            "single_value_summary_type": svs_type,
            "data": data,
            "times": times if times is not None else [],
            "unit": unit if unit is not None else "undefined",
            "hardware_hash": hardware_hash,
            "repository": repository,
            "commit_hash": commit_sha,
            "commit_msg": commit_message,
            "commit_timestamp": commit_ts.isoformat(),
            "result_timestamp": result_ts.isoformat(),
            "run_name": (tags or {}).get("name"),
            "run_tags": tags,
            "zscorestats": {
                "begins_distribution_change": begins,
                "segment_id": float(segment_id),
                "rolling_mean_excluding_this_commit": excluding,
                "rolling_mean": rolling_mean,
                "residual": residual,
                "rolling_stddev": stddev if stddev is not None else 0.0,
                "is_outlier": is_outlier,
            },
        })  # fmt: skip
    return samples


def series_head(head: dict[str, Any]) -> tuple[Any, ...]:
    """The values of `MODERN_HEAD`: what a HistorySeries takes from its head row."""
    return (
        head["history_fingerprint"],
        head["case_name"],
        head["case_tags"],
        head["context_tags"],
        hardware_summary(head),
        head["repository"],
    )


def history_series(head: dict[str, Any], members: History) -> dict[str, Any]:
    """The modern HistorySeries (02 §7); the unit is the newest point's (else the head's)."""
    units = members.columns["unit"]
    unit = units[-1] if units else head["unit"]
    return {
        **dict(zip(MODERN_HEAD, series_head(head), strict=True)),
        "unit": unit,
        "less_is_better": less_is_better(unit),
        "single_value_summary_type": stats.svs_type(unit),
        "points": modern_points(members),
    }


def modern_points(members: History) -> list[dict[str, Any]]:
    """The points of the modern history: statistics as computed (null stays null), each point's
    z-score against the commits before it (04 §9, `stats.point_z` inlined for the loop)."""
    directions: dict[str | None, bool | None] = {}
    c, s = members.columns, members.stats
    points = []
    append = points.append
    for (
        result_id, run_id, batch_id, unit, mean, data, result_ts, svs,
        commit_sha, commit_message, commit_ts, begins,
        segment_id, excluding, rolling_mean, residual, stddev, is_outlier, is_step,
    ) in zip(
        c["id"], c["run_id"], c["batch_id"], c["unit"], c["mean"], c["data"],
        c["result_timestamp"], c["svs"], c["commit_sha"], c["commit_message"],
        c["commit_timestamp"], members.begins_distribution_change,
        s.segment_id, s.rolling_mean_excluding_this_commit, s.rolling_mean, s.residual,
        s.rolling_stddev, s.is_outlier, s.is_step,
        strict=True,
    ):  # fmt: skip
        if unit in directions:
            lower = directions[unit]
        else:
            lower = directions[unit] = less_is_better(unit)
        z = None
        if excluding is not None and stddev and lower is not None:
            z = (svs - excluding) / stddev
            if z != z:
                z = None
            elif lower and z != 0:
                z = -z
        append({
            "result_id": result_id,
            "run_id": run_id,
            "batch_id": batch_id,
            "commit_sha": commit_sha,
            "commit_message": commit_message,
            "commit_timestamp": commit_ts.isoformat() + "Z",
            "result_timestamp": result_ts.isoformat() + "Z",
            "single_value_summary": svs,
            "data": data,
            "mean": mean,
            "begins_distribution_change": begins,
            "segment_id": segment_id,
            "rolling_mean": rolling_mean,
            "rolling_mean_excluding_this_commit": excluding,
            "residual": residual,
            "rolling_stddev": stddev,
            "z_score": z,
            "is_outlier": is_outlier,
            "is_step": is_step,
        })  # fmt: skip
    return points


def numstr(value: float | None, sigfigs: int = 8) -> str:
    """A float with at most `sigfigs` significant figures, positional, trailing zeros trimmed
    (upstream `numstr`: numpy `format_float_positional(trim="-", fractional=False)`); NaN for
    a missing value."""
    if value is None or math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = f"{value:.{sigfigs}g}"
    if "e" not in text:
        return text  # already positional, and `g` leaves no trailing zeros
    text = format(Decimal(text), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def csv_filename(head: dict[str, Any]) -> str:
    return f"conbench-history-{head['case_name']}-{head['history_fingerprint']}.csv"


def history_csv(head: dict[str, Any], members: History, *, url: str, build_commit: str) -> str:
    """The CSV download: `# ` header lines, then one row per point oldest first (01 §7.9)."""
    return csv_preamble(head, url=url, build_commit=build_commit) + csv_rows(members.columns)


def csv_preamble(head: dict[str, Any], *, url: str, build_commit: str) -> str:
    """The header lines of the CSV that depend on the request and its head row."""
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
    ]
    return "\n".join(lines) + "\n"


def csv_rows(c: dict[str, tuple]) -> str:
    """The rest of the CSV, from the members' columns only (what history_cache stores): the SVS
    type line, the column names and one row per point."""
    buffer = io.StringIO()
    buffer.write(f"# single value summary (SVS) type: {stats.svs_type(c['unit'][0])}\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    # pandas prints a whole index at one resolution: fractions for all rows or for none.
    fractional = any(ts.microsecond for ts in c["commit_timestamp"])
    time_format = "%Y-%m-%d %H:%M:%S.%f+00:00" if fractional else "%Y-%m-%d %H:%M:%S+00:00"
    writer.writerows(
        (commit_ts.strftime(time_format), result_id, commit_sha, numstr(svs), numstr(min(data)))
        for commit_ts, result_id, commit_sha, svs, data in zip(
            c["commit_timestamp"], c["id"], c["commit_sha"], c["svs"], c["data"], strict=True
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
