"""Reading, annotating and deleting results: the legacy routes (slashed, 01 §4.1, §6, §7.1; alias
`/api/benchmarks/`) and the modern ones (slash-less, problem+json, 02 §4)."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime

import falcon

from conbench import serialize
from conbench.auth import require_writer
from conbench.errors import BadRequest, NotFound, Problem
from conbench.queries import results
from conbench.queries.results import ResultFilter
from conbench.resources.common import base_url, legacy_cursor, page_size, read_json
from conbench.validation import (
    ValidationFailed,
    merge_change_annotations,
    validate_change_annotations_put,
)

RESULT_NOT_FOUND = "benchmark result not found"
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")
# A `+` of an unescaped offset arrives as a space; put it back before parsing.
_SPACED_OFFSET = re.compile(r"(\d) (\d\d:?\d\d)$")
_CURSOR_ID = re.compile(r"[\x21-\x7e]{1,50}")


def add_routes(table, ctx) -> None:  # type: ignore[no-untyped-def]
    legacy_list = LegacyResultList(ctx)
    legacy_item = LegacyResultItem(ctx)
    for prefix in ("/api/benchmark-results", "/api/benchmarks"):
        table.add(f"{prefix}/", legacy_list, "legacy")
        table.add(f"{prefix}/{{id}}/", legacy_item, "legacy")
    table.add("/api/benchmark-results", ModernResultList(ctx), "modern")
    table.add("/api/benchmark-results/{id}", ModernResultItem(ctx), "modern")


def parse_timestamp(req: falcon.Request, name: str, *, modern: bool = False) -> datetime | None:
    """A timestamp query parameter as naive UTC; ISO 8601 (legacy) or RFC 3339 (modern)."""
    raw = req.get_param(name)
    if raw is None or raw == "":
        return None
    text = _SPACED_OFFSET.sub(r"\1+\2", raw.strip())
    try:
        if modern and not _RFC3339.fullmatch(text):
            raise ValueError(text)
        value = datetime.fromisoformat(text.upper() if modern else text)
    except ValueError:
        if modern:
            raise Problem(422, f"invalid {name}: must be RFC 3339") from None
        raise BadRequest({"_errors": [f"{name} must be an ISO 8601 timestamp"]}) from None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _filters(req: falcon.Request, *, modern: bool) -> ResultFilter:
    return ResultFilter(
        run_id=req.get_param("run_id") or None,
        batch_id=(req.get_param("batch_id") or None) if modern else None,
        run_reason=req.get_param("run_reason") or None,
        earliest=parse_timestamp(req, "earliest_timestamp", modern=modern),
        latest=parse_timestamp(req, "latest_timestamp", modern=modern),
    )


def encode_cursor(result_id: str) -> str:
    """Modern cursors are opaque base64url strings."""
    return base64.urlsafe_b64encode(result_id.encode()).decode().rstrip("=")


def decode_cursor(raw: str | None) -> str | None:
    """The id behind a modern cursor; 422 "invalid cursor" for anything that is not one."""
    if not raw:
        return None
    try:
        value = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        value = ""
    if not _CURSOR_ID.fullmatch(value):
        raise Problem(422, "invalid cursor")
    return value


class _Resource:
    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        self.db = ctx.db
        self.settings = ctx.settings


class LegacyResultList(_Resource):
    """`GET /api/benchmark-results/`: filtered pages, newest first (01 §4.1)."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        filters = _filters(req, modern=False)
        size = page_size(req)
        with self.db.connection() as conn:
            rows = results.list_results(conn, filters, cursor=legacy_cursor(req), page_size=size)
        base = base_url(req, self.settings)
        resp.media = {
            "data": [serialize.legacy_result(row, base) for row in rows],
            "metadata": {"next_page_cursor": rows[-1]["id"] if len(rows) == size else None},
        }


class LegacyResultItem(_Resource):
    """`GET/PUT/DELETE /api/benchmark-results/<id>/` (01 §6)."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        with self.db.connection() as conn:
            row = results.get_result(conn, id)
        if row is None:
            raise NotFound()
        resp.media = serialize.legacy_result(row, base_url(req, self.settings))

    def on_put(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        require_writer(req, self.settings, self.db)
        with self.db.connection() as conn:
            if results.get_result(conn, id) is None:
                raise NotFound()
        try:
            new = validate_change_annotations_put(read_json(req), modern=False)
        except ValidationFailed as exc:
            raise BadRequest(exc.legacy_errors) from None
        row = _annotate(self.db, id, new)
        if row is None:
            raise NotFound()
        resp.media = serialize.legacy_result(row, base_url(req, self.settings))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        require_writer(req, self.settings, self.db)
        with self.db.connection() as conn:
            if not results.delete_result(conn, id):
                raise NotFound()
        resp.status = falcon.HTTP_204


class ModernResultList(_Resource):
    """`GET /api/benchmark-results` (02 §4.1); a POST here is meant for the legacy create."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        filters = _filters(req, modern=True)
        size = page_size(req, modern=True)
        cursor = decode_cursor(req.get_param("cursor"))
        with self.db.connection() as conn:
            rows = results.list_results(conn, filters, cursor=cursor, page_size=size)
        resp.media = {
            "results": [serialize.modern_result(row) for row in rows],
            "next_cursor": encode_cursor(rows[-1]["id"]) if len(rows) == size else None,
        }

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Not a modern route: 308 to the legacy create, as any slash-less legacy path (01 §1.1)."""
        raise falcon.HTTPPermanentRedirect(slashed_location(req))


class ModernResultItem(_Resource):
    """`GET/PUT/DELETE /api/benchmark-results/{id}` (02 §4.2)."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        with self.db.connection() as conn:
            row = results.get_result(conn, id)
        if row is None:
            raise Problem(404, RESULT_NOT_FOUND)
        resp.media = serialize.modern_result(row)

    def on_put(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        require_writer(req, self.settings, self.db, modern=True)
        with self.db.connection() as conn:
            if results.get_result(conn, id) is None:
                raise Problem(404, RESULT_NOT_FOUND)
        try:
            new = validate_change_annotations_put(read_json(req, modern=True), modern=True)
        except ValidationFailed as exc:
            raise Problem(422, exc.detail, exc.problems) from None
        row = _annotate(self.db, id, new)
        if row is None:
            raise Problem(404, RESULT_NOT_FOUND)
        resp.media = serialize.modern_result(row)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        require_writer(req, self.settings, self.db, modern=True)
        with self.db.connection() as conn:
            if not results.delete_result(conn, id):
                raise Problem(404, RESULT_NOT_FOUND)
        resp.status = falcon.HTTP_204


def _annotate(db, result_id: str, new: dict | None) -> dict | None:  # type: ignore[no-untyped-def]
    """Merge validated annotations (None: nothing to change) and re-read the result."""
    with db.connection() as conn:
        if new is not None and not results.update_change_annotations(
            conn, result_id, new, merge_change_annotations
        ):
            return None
        return results.get_result(conn, result_id)


def slashed_location(req: falcon.Request) -> str:
    """The request's path with a trailing slash, its query string preserved (relative, so clients
    keep talking to the host they reached)."""
    location = falcon.uri.encode(req.path + "/")
    return f"{location}?{req.query_string}" if req.query_string else location
