"""The legacy catalogs (01 §3): `/api/`, commits, hardware, contexts, info, users, the retired
registration, and the 308 rule for slash-less legacy paths (01 §1.1)."""

from __future__ import annotations

import re
from typing import Any

import falcon

from conbench import serialize
from conbench.auth import require_writer
from conbench.errors import BadRequest, ConbenchError, Conflict, NotFound
from conbench.queries import catalog
from conbench.resources.common import base_url, read_json
from conbench.resources.results import slashed_location
from conbench.validation_fields import EMAIL

REGISTER_GONE = (
    "Registration with a shared key is retired. Ask an operator for an API token ('conbench "
    "admin tokens create --email you@example.com --token-name ci') or sign in with OIDC and "
    "create one at /account; then authenticate with 'Authorization: Bearer <token>' or log in "
    "via POST /api/login/ with the token as password."
)
# marshmallow's Email accepts a local part, `@`, and a dotted domain (or localhost).
_USER_FIELDS = ("email", "name", "password")
_MAX_LENGTH = 120


def add_routes(table, ctx) -> None:  # type: ignore[no-untyped-def]
    table.add("/api/", Index(ctx), "legacy")
    table.add("/api/commits/", CommitList(ctx), "legacy")
    table.add("/api/commits/{id}/", CommitItem(ctx), "legacy")
    table.add("/api/hardware/", HardwareList(ctx), "legacy")
    table.add("/api/hardware/{id}/", HardwareItem(ctx), "legacy")
    for collection in ("contexts", "info"):
        table.add(f"/api/{collection}/", TagList(ctx, collection), "legacy")
        table.add(f"/api/{collection}/{{id}}/", TagItem(ctx, collection), "legacy")
    table.add("/api/users/", UserList(ctx), "legacy")
    table.add("/api/users/{id}/", UserItem(ctx), "legacy")
    table.add("/api/register/", Register(), "legacy")
    table.app.add_sink(SlashRedirect(table), r"/api(?:/|$)")


class _Resource:
    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        self.db = ctx.db
        self.settings = ctx.settings


class Index(_Resource):
    """`GET /api/`: links to the collections (a write principal is required, as upstream)."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        require_writer(req, self.settings, self.db)
        resp.media = serialize.index_links(base_url(req, self.settings))


class CommitList(_Resource):
    """`GET /api/commits/[?sha=a,b]`: a plain list."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        shas = [s.strip() for s in (req.get_param("sha") or "").split(",") if s.strip()]
        with self.db.connection() as conn:
            rows = catalog.list_commits(conn, shas or None)
        base = base_url(req, self.settings)
        resp.media = [serialize.commit_entity(row, base) for row in rows]


class CommitItem(_Resource):
    """`GET /api/commits/<id>/`, with `links.parent`."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        with self.db.connection() as conn:
            row = catalog.get_commit(conn, id)
        if row is None:
            raise NotFound()
        base = base_url(req, self.settings)
        resp.media = serialize.commit_entity(row, base, parent_id=row["parent_id"])


class HardwareList(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        with self.db.connection() as conn:
            rows = catalog.list_hardware(conn)
        base = base_url(req, self.settings)
        resp.media = [serialize.hardware_entity(row, base) for row in rows]


class HardwareItem(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        with self.db.connection() as conn:
            row = catalog.get_hardware(conn, id)
        if row is None:
            raise NotFound()
        resp.media = serialize.hardware_entity(row, base_url(req, self.settings))


class _TagResource(_Resource):
    def __init__(self, ctx, collection: str) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.collection = collection


class TagList(_TagResource):
    """`GET /api/contexts/` or `/api/info/`."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        with self.db.connection() as conn:
            rows = catalog.list_tag_rows(conn, self.collection)
        base = base_url(req, self.settings)
        resp.media = [serialize.tags_entity(row, self.collection, base) for row in rows]


class TagItem(_TagResource):
    """`GET /api/contexts/<id>/` or `/api/info/<id>/`."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        with self.db.connection() as conn:
            row = catalog.get_tag_row(conn, self.collection, id)
        if row is None:
            raise NotFound()
        resp.media = serialize.tags_entity(row, self.collection, base_url(req, self.settings))


class UserList(_Resource):
    """`GET/POST /api/users/`."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        require_writer(req, self.settings, self.db)
        with self.db.connection() as conn:
            rows = catalog.list_users(conn)
        base = base_url(req, self.settings)
        resp.media = [serialize.user_entity(row, base) for row in rows]

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        require_writer(req, self.settings, self.db)
        fields = user_fields(read_json(req), partial=False)
        with self.db.connection() as conn:
            try:
                row = catalog.insert_user(conn, fields["email"], fields["name"])
            except catalog.EmailTaken:
                raise _email_taken() from None
        body = serialize.user_entity(row, base_url(req, self.settings))
        resp.status = falcon.HTTP_201
        resp.location = body["links"]["self"]
        resp.media = body


class UserItem(_Resource):
    """`GET/PUT/DELETE /api/users/<id>/`; a password is accepted and ignored (none are stored)."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        require_writer(req, self.settings, self.db)
        with self.db.connection() as conn:
            row = catalog.get_user(conn, id)
        if row is None:
            raise NotFound()
        resp.media = serialize.user_entity(row, base_url(req, self.settings))

    def on_put(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        require_writer(req, self.settings, self.db)
        with self.db.connection() as conn:
            if catalog.get_user(conn, id) is None:
                raise NotFound()
        fields = user_fields(read_json(req), partial=True)
        with self.db.connection() as conn:
            try:
                row = catalog.update_user(
                    conn, id, email=fields.get("email"), name=fields.get("name")
                )
            except catalog.EmailTaken:
                raise _email_taken() from None
        if row is None:
            raise NotFound()
        resp.media = serialize.user_entity(row, base_url(req, self.settings))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        require_writer(req, self.settings, self.db)
        with self.db.connection() as conn:
            try:
                deleted = catalog.delete_user(conn, id)
            except catalog.OwnsAlertRules:
                raise DescriptionOnly("user owns alert rules", status=409) from None
        if not deleted:
            raise NotFound()
        resp.status = falcon.HTTP_204


class DescriptionOnly(Conflict):
    """A legacy business error: `{"description"}` without code and name (01 §1.2)."""

    def to_dict(self) -> dict[str, Any]:
        return {"description": self.description}


def _email_taken() -> BadRequest:
    return BadRequest({"email": ["Email address already in use."]})


def user_fields(body: Any, *, partial: bool) -> dict[str, str]:
    """A user body `{email, name, password?}` checked with upstream's marshmallow messages; with
    `partial` (PUT) every field is optional but the body may not be empty."""
    if not isinstance(body, dict):
        raise BadRequest({"_schema": ["Invalid input type."]})
    if partial and not body:
        raise BadRequest({"_errors": ["Empty request body."]})
    errors: dict[str, list[str]] = {
        key: ["Unknown field."] for key in body if key not in _USER_FIELDS
    }
    for key in _USER_FIELDS:
        if key not in body:
            if not partial and key != "password":
                errors[key] = ["Missing data for required field."]
            continue
        value = body[key]
        if value is None:
            errors[key] = ["Field may not be null."]
        elif not isinstance(value, str):
            errors[key] = ["Not a valid string."]
        elif key == "email" and not EMAIL.fullmatch(value):
            errors[key] = ["Not a valid email address."]
        elif key != "password" and len(value) > _MAX_LENGTH:
            errors[key] = [f"Longer than maximum length {_MAX_LENGTH}."]
    if errors:
        raise BadRequest(errors)
    return {key: body[key] for key in ("email", "name") if key in body}


class Register:
    """`POST /api/register/`: always 410; the body is not read."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        raise ConbenchError(REGISTER_GONE, status=410)


class SlashRedirect:
    """The sink for unrouted `/api` paths: 308 to `path + "/"` when that is a legacy route (query
    string kept), else the legacy 404. Routes win over sinks, so modern slash-less paths never
    get here."""

    def __init__(self, table) -> None:  # type: ignore[no-untyped-def]
        self.table = table
        self._patterns: list[re.Pattern[str]] | None = None

    def __call__(self, req: falcon.Request, resp: falcon.Response, **kwargs: str) -> None:
        if not req.path.endswith("/") and self._is_legacy_route(req.path + "/"):
            raise falcon.HTTPPermanentRedirect(slashed_location(req))
        raise NotFound()

    def _is_legacy_route(self, path: str) -> bool:
        if self._patterns is None:
            # Built on first use: every module has added its routes by then.
            self._patterns = [
                template_pattern(route.path)
                for route in self.table.routes
                if route.surface == "legacy"
            ]
        return any(pattern.fullmatch(path) for pattern in self._patterns)


def template_pattern(template: str) -> re.Pattern[str]:
    """A Falcon URI template as a regex: each `{field}` matches one non-empty path segment part."""
    literals = re.split(r"\{[^}]*\}", template)
    return re.compile("[^/]+".join(re.escape(literal) for literal in literals))
