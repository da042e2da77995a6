"""The API documents and their reader: /openapi.yaml, /openapi-3.0.yaml, /openapi.json, /docs, and
the legacy /api/docs.json, /api/docs and /api/redoc.

The documents are built once per process from the app's own route table, at the first request
(when every route is registered); serving them never touches the database. The routes are "meta",
so they are not themselves in the documents.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import falcon

from conbench import openapi
from conbench.errors import NotFound
from conbench.paths import STATIC_DIR

if TYPE_CHECKING:
    from conbench.app import RouteTable

PAGE_DIR = STATIC_DIR / "docs"
DOCUMENTS = {
    "/openapi.yaml": ("openapi.yaml", "application/yaml; charset=utf-8"),
    "/openapi-3.0.yaml": ("openapi-3.0.yaml", "application/yaml; charset=utf-8"),
    "/openapi.json": ("openapi.json", falcon.MEDIA_JSON),
    "/api/docs.json": ("legacy-docs.json", falcon.MEDIA_JSON),
}
# The reader renders the modern document at /docs and the legacy one under /api/.
PAGES = ("/docs", "/api/docs", "/api/redoc")
ASSETS = {"docs.js": "text/javascript; charset=utf-8", "docs.css": "text/css; charset=utf-8"}


def add_routes(table, ctx) -> None:  # type: ignore[no-untyped-def]
    rendered = RenderedDocuments(table)
    for path, (name, media) in DOCUMENTS.items():
        table.add(path, Document(rendered, name, media), "meta")
    page = Page()
    for path in PAGES:
        table.add(path, page, "meta")
    table.add("/docs/{name}", Asset(), "meta")


class RenderedDocuments:
    """Every document of one app, rendered on first use and kept for the process's life."""

    def __init__(self, table: RouteTable) -> None:
        self.table = table
        self._lock = threading.Lock()
        self._documents: dict[str, bytes] | None = None

    def get(self, name: str) -> bytes:
        with self._lock:
            if self._documents is None:
                texts = openapi.render_documents(self.table.app)
                self._documents = {key: text.encode() for key, text in texts.items()}
            return self._documents[name]


class Document:
    """`GET` one OpenAPI document."""

    def __init__(self, rendered: RenderedDocuments, name: str, media: str) -> None:
        self.rendered = rendered
        self.name = name
        self.media = media

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = self.media
        resp.data = self.rendered.get(self.name)


class Page:
    """`GET /docs` (and the legacy pages): the dependency-free reader of static/docs/."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _send_file(resp, "index.html", "text/html; charset=utf-8")


class Asset:
    """`GET /docs/{name}`: the reader's script and style sheet, nothing else."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        if name not in ASSETS:
            raise NotFound()
        _send_file(resp, name, ASSETS[name])


def _send_file(resp: falcon.Response, name: str, media: str) -> None:
    try:
        data = (PAGE_DIR / name).read_bytes()
    except FileNotFoundError:
        raise NotFound() from None
    resp.content_type = media
    resp.cache_control = ["no-cache"]
    resp.data = data
