"""`GET /api/series` (02 §6): a page of series, each with its newest point, a status from that point
against the points before it, and a sparkline. Registered by `history.add_routes`."""

from __future__ import annotations

import base64
import binascii
import json
import math
from datetime import datetime
from typing import Any

import falcon

from conbench import stats
from conbench.aggregates import less_is_better
from conbench.db import QueryTimeout
from conbench.errors import Problem
from conbench.queries import history
from conbench.queries import series as queries
from conbench.queries.series import SeriesFilter, SeriesKey
from conbench.resources.common import page_size
from conbench.resources.results import parse_timestamp
from conbench.serialize import rfc3339

READ_TIMEOUT = (
    "read query timed out; narrow the request, reduce page size, add filters, or retry a more "
    "specific lookup"
)
SPARKLINE_POINTS = 20
DEFAULT_THRESHOLD_Z = 5.0


def add_routes(table, ctx) -> None:  # type: ignore[no-untyped-def]
    table.add("/api/series", SeriesList(ctx), "modern")


class SeriesList:
    """`GET /api/series`: validate the filters, find the page's series, score each one."""

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        self.db = ctx.db
        self.settings = ctx.settings

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        filters = SeriesFilter(
            pattern=_pattern(req.get_param("q")),
            hardware=_text(req.get_param("hardware")),
            repository=_repository(req.get_param("repository")),
            fingerprint=_text(req.get_param("fingerprint")),
            since=parse_timestamp(req, "active_since", modern=True),
            until=parse_timestamp(req, "active_until", modern=True),
        )
        threshold_z = _threshold_z(req.get_param("threshold_z"))
        size = page_size(req, default=25, maximum=100, modern=True)
        cursor = decode_cursor(req.get_param("cursor"))
        try:
            with self.db.connection() as conn:
                page = queries.find_page(conn, filters, page_size=size, cursor=cursor)
                members = queries.list_members(conn, [key.fingerprint for key in page.keys])
                heads = history.list_series_heads(
                    conn, [rows[-1]["id"] for rows in members.values()]
                )
        except QueryTimeout:
            raise Problem(422, READ_TIMEOUT) from None
        items = [
            series_item(members[key.fingerprint], heads, threshold_z)
            for key in page.keys
            if key.fingerprint in members
        ]
        resp.media = {
            "series": items,
            "next_cursor": encode_cursor(page.keys[-1]) if len(page.keys) == size else None,
            "truncated": page.truncated,
        }


def series_item(
    rows: list[dict[str, Any]], heads: dict[str, dict[str, Any]], threshold_z: float
) -> dict[str, Any]:
    """One series: its newest member, scored against the members before it (04 §9)."""
    members = history.with_statistics(rows, include_current=False)
    latest = members[-1]
    row, point = latest.row, latest.stats
    unit = row["unit"]
    verdict = stats.lookback_z(
        latest.svs, point.rolling_mean_excluding_this_commit, point.rolling_stddev, unit,
        threshold_z,
    )  # fmt: skip
    head = heads[row["id"]]
    return {
        "history_fingerprint": row["history_fingerprint"],
        "name": head["case_name"],
        "tags": head["case_tags"],
        "context": head["context_tags"],
        "hardware": hardware_summary(head),
        "repository": head["repository"],
        "unit": unit,
        "less_is_better": less_is_better(unit),
        "status": status(verdict),
        "latest_result_id": row["id"],
        "latest_single_value_summary": latest.svs,
        "latest_single_value_summary_type": stats.svs_type(unit),
        "latest_commit_sha": row["commit_sha"],
        "latest_commit_timestamp": rfc3339(row["commit_timestamp"]),
        "latest_result_timestamp": rfc3339(row["result_timestamp"]),
        "point_count": row["point_count"],
        "sparkline": [member.svs for member in members[-SPARKLINE_POINTS:]],
    }


def status(verdict: dict[str, Any] | None) -> str:
    """regressed / improved / stable from the lookback verdict; insufficient without a z."""
    if verdict is None:
        return "insufficient"
    if verdict["regression_indicated"]:
        return "regressed"
    if verdict["improvement_indicated"]:
        return "improved"
    return "stable"


def hardware_summary(head: dict[str, Any]) -> dict[str, Any]:
    """`{id, type, name, hash}` of a series head's hardware."""
    return {
        "id": head["hardware_id"],
        "type": head["hardware_type"],
        "name": head["hardware_name"],
        "hash": head["hardware_hash"],
    }


def encode_cursor(key: SeriesKey) -> str:
    """Opaque base64url of the last series' place in the page order."""
    text = json.dumps([key.commit_timestamp.isoformat(), key.commit_id, key.fingerprint])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(raw: str | None) -> SeriesKey | None:
    """The place behind a cursor; 422 "invalid cursor" for anything else."""
    if not raw:
        return None
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        timestamp, commit_id, fingerprint = json.loads(text)
        if not (isinstance(commit_id, str) and isinstance(fingerprint, str)):
            raise ValueError(text)
        return SeriesKey(datetime.fromisoformat(timestamp), commit_id, fingerprint)
    except (binascii.Error, ValueError, TypeError):
        raise Problem(422, "invalid cursor") from None


def _text(raw: str | None) -> str | None:
    value = (raw or "").strip()
    return value or None


def _pattern(raw: str | None) -> str | None:
    """`q` as a case-insensitive substring pattern, its own `%`, `_` and `\\` taken literally."""
    text = _text(raw)
    if text is None:
        return None
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _repository(raw: str | None) -> str | None:
    """The repository as results store it (`git@github.com:` rewritten, no trailing slash)."""
    text = _text(raw)
    if text is None:
        return None
    if text.startswith("git@github.com:"):
        text = text.replace("git@github.com:", "https://github.com/", 1)
    return text.rstrip("/") or None


def _threshold_z(raw: str | None) -> float:
    if raw is None or raw == "":
        return DEFAULT_THRESHOLD_Z
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise Problem(422, "invalid threshold_z: must be a finite number greater than zero")
    return value
