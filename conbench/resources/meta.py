"""Process health and metrics: the routes that never touch the database."""

from datetime import UTC, datetime

import falcon

from conbench import metrics
from conbench.buildinfo import BuildInfo


def add_routes(table, ctx) -> None:  # type: ignore[no-untyped-def]
    ping = Ping(ctx.build)
    table.add("/api/ping/", ping, "legacy")
    table.add("/api/ping", ping, "modern")
    table.add("/metrics", Metrics(), "meta")


class Ping:
    """`GET /api/ping/`: the process is up. Probes use it, so it never waits on the database."""

    def __init__(self, build: BuildInfo) -> None:
        self.build = build

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {
            "date": datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S UTC"),
            "alembic_version": self.build.alembic_version or "none",
            "commit": self.build.commit,
            "schema_version": self.build.schema_version,
        }


class Metrics:
    """`GET/HEAD /metrics`: Prometheus text, unauthenticated, outside the OpenAPI surface."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = "text/plain; version=0.0.4; charset=utf-8"
        resp.data = metrics.render()
