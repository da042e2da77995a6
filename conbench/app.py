"""The WSGI application: THE routing table, middleware and the one error shape."""

from __future__ import annotations

import logging
import uuid
from typing import Any, Protocol

import falcon

from conbench.buildinfo import BuildInfo
from conbench.config import Settings
from conbench.errors import ConbenchError, default_description, error_body
from conbench.metrics import MetricsMiddleware
from conbench.resources import meta

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 32 * 1024 * 1024
BLOCKED_AGENTS = ("dataforseobot", "dotbot", "petalbot")


class DatabaseLike(Protocol):
    def open(self) -> None: ...
    def close(self) -> None: ...
    def connection(self) -> Any: ...


def create_app(settings: Settings, db: DatabaseLike, build: BuildInfo | None = None) -> falcon.App:
    """Build the app; `db` is opened lazily per process, so this is safe before gunicorn forks."""
    app = falcon.App(middleware=[MetricsMiddleware(), GuardMiddleware()])
    app.req_options.strip_url_path_trailing_slash = False
    app.resp_options.default_media_type = falcon.MEDIA_JSON
    app.set_error_serializer(_serialize_http_error)
    app.add_error_handler(ConbenchError, _handle_conbench_error)
    app.add_error_handler(Exception, _handle_unexpected)

    ping = meta.Ping(build or BuildInfo())
    app.add_route("/api/ping/", ping)
    app.add_route("/api/ping", ping)
    app.add_route("/metrics", meta.Metrics())
    return app


class GuardMiddleware:
    """Refuse what no route should see: oversized bodies and known scraping bots."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        agent = (req.user_agent or "").lower()
        if any(bot in agent for bot in BLOCKED_AGENTS):
            resp.status = 403
            resp.content_type = falcon.MEDIA_TEXT
            resp.text = "unexpected user agent"
            resp.complete = True
            return
        if (req.content_length or 0) > MAX_BODY_BYTES:
            raise falcon.HTTPContentTooLarge(
                description=f"request body larger than {MAX_BODY_BYTES} bytes"
            )


def _serialize_http_error(
    req: falcon.Request, resp: falcon.Response, exc: falcon.HTTPError
) -> None:
    description = exc.description or default_description(exc.status_code)
    resp.content_type = falcon.MEDIA_JSON
    resp.media = error_body(exc.status_code, description)


def _handle_conbench_error(
    req: falcon.Request, resp: falcon.Response, exc: ConbenchError, params: dict
) -> None:
    resp.status = exc.status
    resp.content_type = falcon.MEDIA_JSON
    resp.media = exc.to_dict()


def _handle_unexpected(
    req: falcon.Request, resp: falcon.Response, exc: Exception, params: dict
) -> None:
    if isinstance(exc, falcon.HTTPError):  # raised inside a handler: keep Falcon's own status
        _serialize_http_error(req, resp, exc)
        resp.status = exc.status
        return
    reference = uuid.uuid4().hex[:12]
    log.exception("unexpected error serving %s %s (reference %s)", req.method, req.path, reference)
    resp.status = 500
    resp.content_type = falcon.MEDIA_JSON
    resp.media = error_body(500, f"unexpected error; reference {reference}")
