"""The WSGI application: the routing table, middleware and the error shapes.

Each resource module declares its routes in `add_routes(table, ctx)`; `ROUTE_MODULES` lists them
in one place, and the table remembers every route's surface (legacy or modern) for the error
shape, the metrics labels and the OpenAPI document.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

import falcon

from conbench import jsoncodec
from conbench.buildinfo import BuildInfo
from conbench.config import Settings
from conbench.errors import ConbenchError, Problem, default_description, error_body
from conbench.metrics import MetricsMiddleware
from conbench.resources import (
    auth,
    catalog,
    compare,
    docs,
    history,
    meta,
    reports,
    results,
    runs,
    submit,
)

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 32 * 1024 * 1024
BLOCKED_AGENTS = ("dataforseobot", "dotbot", "petalbot")

# Resource modules, in registration order; each has add_routes(table, ctx).
ROUTE_MODULES = (meta, submit, results, runs, history, compare, reports, auth, catalog, docs)


class DatabaseLike(Protocol):
    def open(self) -> None: ...
    def close(self) -> None: ...
    def connection(self) -> Any: ...


@dataclass(frozen=True)
class AppContext:
    """What resources are built with."""

    settings: Settings
    db: DatabaseLike
    build: BuildInfo


@dataclass(frozen=True)
class Route:
    path: str
    resource: object
    surface: str  # "legacy" | "modern" | "meta"


@dataclass
class RouteTable:
    """Adds routes to the Falcon app and remembers them."""

    app: falcon.App
    routes: list[Route] = field(default_factory=list)

    def add(self, path: str, resource: object, surface: str) -> None:
        """Serve `resource` at `path`. Falcon keeps one resource per path, so a second module
        serving other methods on the same path (POST and GET on a collection) is joined in."""
        assert surface in ("legacy", "modern", "meta"), surface
        earlier = next((r for r in self.routes if r.path == path), None)
        if earlier is not None:
            assert earlier.surface == surface, path
            self.routes.remove(earlier)
            resource = _Joined(earlier.resource, resource)
        if hasattr(resource, "on_get") and not hasattr(resource, "on_head"):
            resource = _Joined(resource, _HeadFromGet(resource))  # Falcon sends HEAD no body
        self.app.add_route(path, resource)
        self.routes.append(Route(path, resource, surface))

    def modern_paths(self) -> frozenset[str]:
        return frozenset(r.path for r in self.routes if r.surface == "modern")


class _Joined:
    """The responders of two resources on one path; a method served by both is a bug."""

    def __init__(self, *parts: object) -> None:
        for part in parts:
            for name in dir(part):
                if name.startswith("on_"):
                    if hasattr(self, name):
                        raise ValueError(f"two resources answer {name[3:].upper()} on one path")
                    setattr(self, name, getattr(part, name))


class _HeadFromGet:
    """HEAD answered like GET (headers only), as Werkzeug did for every legacy route."""

    def __init__(self, resource: Any) -> None:
        self.on_head = resource.on_get


class ConbenchApp(falcon.App):
    """Falcon's App plus the table of the routes it serves."""

    route_table: RouteTable


def create_app(settings: Settings, db: DatabaseLike, build: BuildInfo | None = None) -> ConbenchApp:
    """Build the app; `db` is opened lazily per process, so this is safe before gunicorn forks."""
    app = ConbenchApp(middleware=[MetricsMiddleware(), GuardMiddleware()])
    app.req_options.strip_url_path_trailing_slash = False
    app.resp_options.default_media_type = falcon.MEDIA_JSON
    json_handler = falcon.media.JSONHandler(dumps=jsoncodec.dumps, loads=jsoncodec.loads)
    for options in (app.req_options, app.resp_options):
        options.media_handlers[falcon.MEDIA_JSON] = json_handler
        options.media_handlers["application/problem+json"] = json_handler
    table = RouteTable(app)
    ctx = AppContext(settings, db, build or BuildInfo())
    for module in ROUTE_MODULES:
        module.add_routes(table, ctx)
    app.route_table = table
    modern = table.modern_paths()
    app.set_error_serializer(lambda req, resp, exc: _serialize_http_error(req, resp, exc, modern))
    app.add_error_handler(ConbenchError, _handle_conbench_error)
    app.add_error_handler(Exception, _handle_unexpected)
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
    req: falcon.Request,
    resp: falcon.Response,
    exc: falcon.HTTPError,
    modern: frozenset[str] = frozenset(),
) -> None:
    description = exc.description or default_description(exc.status_code)
    if req.uri_template in modern:
        resp.content_type = "application/problem+json"
        resp.media = Problem(exc.status_code, description).to_dict()
        return
    resp.content_type = falcon.MEDIA_JSON
    resp.media = error_body(exc.status_code, description)


def _handle_conbench_error(
    req: falcon.Request, resp: falcon.Response, exc: ConbenchError, params: dict
) -> None:
    resp.status = exc.status
    resp.content_type = (
        "application/problem+json" if isinstance(exc, Problem) else falcon.MEDIA_JSON
    )
    resp.media = exc.to_dict()


def _handle_unexpected(
    req: falcon.Request, resp: falcon.Response, exc: Exception, params: dict
) -> None:
    reference = uuid.uuid4().hex[:12]
    log.exception("unexpected error serving %s %s (reference %s)", req.method, req.path, reference)
    resp.status = 500
    resp.content_type = falcon.MEDIA_JSON
    resp.media = error_body(500, f"unexpected error; reference {reference}")
