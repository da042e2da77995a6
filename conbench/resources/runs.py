"""Legacy runs: `GET /api/runs/?commit_hash=` and `GET /api/runs/<run_id>/` (01 §4.2, §7.6)."""

from __future__ import annotations

import falcon

from conbench import serialize
from conbench.errors import BadRequest, NotFound
from conbench.queries import baselines, runs
from conbench.resources.common import legacy_cursor, page_size


def add_routes(table, ctx) -> None:  # type: ignore[no-untyped-def]
    table.add("/api/runs/", RunList(ctx.db), "legacy")
    table.add("/api/runs/{run_id}/", RunDetail(ctx.db), "legacy")


class RunList:
    """Runs with results on the given commits, one entry per run_id, run_id ascending."""

    def __init__(self, db) -> None:  # type: ignore[no-untyped-def]
        self.db = db

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        shas = [s.strip() for s in (req.get_param("commit_hash") or "").split(",") if s.strip()]
        if not shas:
            raise BadRequest({"_errors": ["commit_hash is required"]})
        size = page_size(req)
        with self.db.connection() as conn:
            rows = runs.list_runs_for_commits(conn, shas, cursor=legacy_cursor(req), page_size=size)
        resp.media = {
            "data": [serialize.legacy_run(row) for row in rows],
            "metadata": {"next_page_cursor": rows[-1]["run_id"] if len(rows) == size else None},
        }


class RunDetail:
    """One run from its representative result, with its candidate baseline runs."""

    def __init__(self, db) -> None:  # type: ignore[no-untyped-def]
        self.db = db

    def on_get(self, req: falcon.Request, resp: falcon.Response, run_id: str) -> None:
        with self.db.connection() as conn:
            row = runs.get_run(conn, run_id)
            if row is None:
                raise NotFound()
            candidates = baselines.candidate_baseline_runs(conn, row)
        resp.media = serialize.legacy_run(row, candidates)
