"""Recent runs (`GET /api/runs/recent`, 02 §5) and the CI report (`GET /api/ci/report`, 02 §9)."""

from __future__ import annotations

import base64
import binascii
import json
import math
from datetime import datetime
from typing import Any
from urllib.parse import quote

import falcon

from conbench import ci_report
from conbench.db import QueryTimeout
from conbench.errors import Problem
from conbench.identity import normalize_repository
from conbench.queries import recent
from conbench.resources.common import page_size
from conbench.serialize import rfc3339

READ_TIMED_OUT = (
    "read query timed out; narrow the request, reduce page size, add filters, or retry a more "
    "specific lookup"
)


def add_routes(table, ctx) -> None:  # type: ignore[no-untyped-def]
    table.add("/api/runs/recent", RecentRuns(ctx), "modern")
    table.add("/api/ci/report", CIReport(ctx), "modern")


class _Resource:
    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        self.db = ctx.db
        self.settings = ctx.settings


class RecentRuns(_Resource):
    """The newest runs with exact counts, from a bounded scan of the newest results."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        size = page_size(req, default=25, maximum=100, modern=True)
        after = decode_run_cursor(req.get_param("cursor"))
        repository = repository_param(req.get_param("repository"))
        try:
            with self.db.connection() as conn:
                keys = recent.list_recent_run_keys(
                    conn, page_size=size, repository=repository, after=after
                )
                rows = recent.list_run_summaries(conn, keys)
        except QueryTimeout:
            raise Problem(422, READ_TIMED_OUT) from None
        full = len(keys) == size
        resp.media = {
            "runs": [recent_run(row) for row in rows],
            "next_cursor": encode_run_cursor(recent.position_after(keys, after)) if full else None,
        }


class CIReport(_Resource):
    """The CI verdict for one commit's runs or for explicit runs (02 §9)."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        request = report_request(req)
        try:
            with self.db.connection() as conn:
                report = ci_report.build_report(conn, request, self.settings.intended_base_url)
        except ci_report.ReportRejected as exc:
            raise Problem(exc.status, exc.detail) from None
        except QueryTimeout:
            raise Problem(422, READ_TIMED_OUT) from None
        resp.media = report.body


def report_request(req: falcon.Request) -> ci_report.ReportRequest:
    """The CI report parameters, checked in the order of 02 §9.1 (exact 422 messages)."""
    repository = _text(req, "repository")
    commit_sha = _text(req, "commit_sha") or _text(req, "commit")
    if (repository is None) != (commit_sha is None):
        raise Problem(422, "repository and commit_sha must be provided together")
    run_ids = _id_list(req, "run_ids")
    if repository is None and not run_ids:
        raise Problem(422, "provide repository and commit_sha or run_ids")
    baseline_run_ids = _id_list(req, "baseline_run_ids")
    baseline = _text(req, "baseline")
    if baseline_run_ids:
        if not run_ids:
            raise Problem(422, "baseline_run_ids requires run_ids")
        if baseline is not None:
            raise Problem(422, "baseline cannot be set with baseline_run_ids")
        if len(baseline_run_ids) != len(run_ids):
            raise Problem(422, "baseline_run_ids must match run_ids count")
    if baseline is not None and baseline not in ci_report.BASELINE_TYPES:
        raise Problem(422, "invalid baseline")
    return ci_report.ReportRequest(
        repository=repository_param(repository),
        commit_sha=commit_sha,
        run_ids=tuple(run_ids),
        baseline_run_ids=tuple(baseline_run_ids),
        baseline=baseline,
        threshold=threshold_param(req, "threshold"),
        threshold_z=threshold_param(req, "threshold_z"),
    )


def threshold_param(req: falcon.Request, name: str) -> float:
    """A threshold: default 5, else a finite number greater than zero."""
    raw = _text(req, name)
    if raw is None:
        return ci_report.DEFAULT_THRESHOLD
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise Problem(422, f"invalid {name}: must be a finite number greater than zero")
    return value


def repository_param(raw: str | None) -> str | None:
    """A repository filter in its stored (normalized) form; anything else is compared as given."""
    if raw is None:
        return None
    try:
        return normalize_repository(raw.strip())
    except ValueError:
        return raw.strip().rstrip("/")


def _text(req: falcon.Request, name: str) -> str | None:
    raw = req.get_param(name)
    return raw if raw is not None and raw.strip() else None


def _id_list(req: falcon.Request, name: str) -> list[str]:
    """A comma list, trimmed, empties dropped (repeated parameters are joined)."""
    values = req.get_param_as_list(name) or []
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def encode_run_cursor(position: recent.Position) -> str:
    """Where a page ended, opaque: base64url of `{"t": timestamp, "r": [run ids listed at t]}`."""
    raw = json.dumps({"t": position.timestamp.isoformat(), "r": list(position.listed)})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_run_cursor(raw: str | None) -> recent.Position | None:
    """The position behind a recent-runs cursor; 422 "invalid cursor" for anything else."""
    if not raw:
        return None
    try:
        doc = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        timestamp = datetime.fromisoformat(doc["t"])
        listed = doc["r"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise Problem(422, "invalid cursor") from None
    if (
        timestamp.tzinfo is not None
        or not isinstance(listed, list)
        or not all(isinstance(run_id, str) for run_id in listed)
    ):
        raise Problem(422, "invalid cursor")
    return recent.Position(timestamp, tuple(listed))


def recent_run(row: dict[str, Any]) -> dict[str, Any]:
    """One item of `GET /api/runs/recent` from a `list_run_summaries` row."""
    commit = row["commit"]
    run_id = row["run_id"]
    return {
        "run_id": run_id,
        "run_reason": row["run_reason"],
        "run_tags": row["run_tags"],
        "repository": row["commit_repo_url"],
        "commit": None
        if commit is None
        else {
            "sha": commit["sha"],
            "message": commit["message"],
            "timestamp": rfc3339(commit["timestamp"]),
            "branch": commit["branch"],
            "on_default_branch": commit["fork_point_sha"] is not None
            and commit["sha"] == commit["fork_point_sha"],
        },
        "hardware": row["hardware"],
        "result_count": row["result_count"],
        "errored_count": row["errored_count"],
        "first_result_timestamp": rfc3339(row["first_result_timestamp"]),
        "last_result_timestamp": rfc3339(row["last_result_timestamp"]),
        "batch_ids": row["batch_ids"],
        "sample_result_id": row["sample_result_id"],
        "links": {
            "run": f"/runs/{quote(run_id, safe='')}",
            "ci_report": f"/ci/report?run_ids={quote(run_id, safe='')}",
        },
    }
