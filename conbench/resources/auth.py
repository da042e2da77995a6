"""Authentication routes: OIDC web login, the CLI loopback login, the caller's capabilities, user
API tokens (02 §10-§11), and the legacy login bridge, logout and SSO redirects (01 §2)."""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import falcon

from conbench import serialize
from conbench.auth import STAMPER, FailedLogins, require_session, require_user, session_user
from conbench.errors import BadRequest, ConbenchError, Problem
from conbench.oidc import OidcError, Provider, random_secret
from conbench.queries import auth as queries
from conbench.resources.common import read_json
from conbench.sessions import (
    PENDING_COOKIE,
    SESSION_COOKIE,
    Pending,
    decode_pending,
    encode_pending,
    encode_session,
    expired_cookie,
    pending_cookie,
    session_cookie,
)
from conbench.tokens import new_cli_code, token_hash
from conbench.validation_fields import EMAIL, Problems, Reader, as_string

OIDC_OFF = "OIDC login is not configured"
BRIDGE_OFF = (
    "legacy login needs CONBENCH_SESSION_SECRET; send the API token as 'Authorization: Bearer' "
    "instead"
)
INVALID_LOGIN = {"_errors": ["Invalid email or password."]}
MAX_NAME_LENGTH = 255
USER_COLUMN_LENGTH = 120  # "user".email and "user".name


def add_routes(table, ctx) -> None:  # type: ignore[no-untyped-def]
    table.add("/api/auth/login", Login(ctx), "modern")
    table.add("/api/auth/callback", Callback(ctx), "modern")
    table.add("/api/auth/cli-start", CliStart(ctx), "modern")
    table.add("/api/auth/cli-exchange", CliExchange(ctx), "modern")
    table.add("/api/auth/logout", Logout(ctx), "modern")
    table.add("/api/auth/capabilities", Capabilities(ctx), "modern")
    table.add("/api/users/me", CurrentUser(ctx), "modern")
    table.add("/api/tokens", TokenList(ctx), "modern")
    table.add("/api/tokens/{id}", TokenItem(ctx), "modern")
    table.add("/api/login/", LegacyLogin(ctx), "legacy")
    table.add("/api/logout/", LegacyLogout(ctx), "legacy")
    table.add("/api/google/", GoogleLogin(ctx), "legacy")
    table.add("/api/google/callback", GoogleCallback(ctx), "legacy")


class _Resource:
    def __init__(self, ctx: Any) -> None:
        self.settings = ctx.settings
        self.db = ctx.db

    @property
    def base(self) -> str | None:
        return self.settings.intended_base_url

    def provider(self, *, modern: bool = True) -> Provider:
        """The configured identity provider, or 501 (the settings make OIDC all or nothing)."""
        s = self.settings
        if not (s.oidc_issuer_url and s.oidc_client_id and s.oidc_client_secret):
            raise Problem(501, OIDC_OFF) if modern else ConbenchError(OIDC_OFF, status=501)
        redirect_uri = f"{s.intended_base_url}/api/auth/callback"
        return Provider(s.oidc_issuer_url, s.oidc_client_id, s.oidc_client_secret, redirect_uri)

    def start_login(self, resp: falcon.Response, pending: dict[str, str | None]) -> None:
        """Redirect to the provider with a fresh state, nonce and PKCE verifier, remembered in
        the signed `conbench_pending` cookie."""
        provider = self.provider()
        login = Pending(random_secret(), random_secret(), random_secret(), **pending)
        try:
            url = provider.authorization_url(
                state=login.state, nonce=login.nonce, verifier=login.verifier
            )
        except OidcError as exc:
            raise Problem(exc.status, exc.detail) from None
        value = encode_pending(self.settings.session_secret, login)
        resp.append_header("Set-Cookie", pending_cookie(value, self.base))
        redirect(resp, url)

    def sign_in(self, resp: falcon.Response, user_id: str) -> None:
        """Set the OIDC session cookie of `user_id`."""
        value = encode_session(self.settings.session_secret, user_id)
        resp.append_header("Set-Cookie", session_cookie(value, self.base))


def redirect(resp: falcon.Response, location: str) -> None:
    """302 to `location`, never cached (auth redirects carry one-time values)."""
    resp.status = falcon.HTTP_302
    resp.location = location
    resp.cache_control = ["no-store"]


def local_path(target: str | None) -> str | None:
    """`target` when it is a same-origin relative path (`/x`, not `//host` or `/\\host`)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if any(ord(c) < 0x20 or c == "\\" for c in target):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def loopback_redirect(uri: str | None) -> bool:
    """`http://127.0.0.1:<port>/…` or `http://[::1]:<port>/…` and nothing else (02 §11)."""
    if not uri:
        return False
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return False
    hosts = {f"127.0.0.1:{port}", f"[::1]:{port}"}
    return (
        parts.scheme == "http"
        and port is not None
        and 0 < port < 65536
        and parts.netloc in hosts
        and parts.path.startswith("/")
        and not parts.fragment
    )


def with_query(uri: str, params: dict[str, str]) -> str:
    """`uri` with `params` appended to the query it already has."""
    parts = urlsplit(uri)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit(parts._replace(query=query))


def token_body(row: dict[str, Any]) -> dict[str, Any]:
    """A new token as shown once: `{id, name, token, prefix, created_at}`."""
    body = {key: row[key] for key in ("id", "name", "token", "prefix")}
    return {**body, "created_at": serialize.rfc3339(row["created_at"])}


def token_info(row: dict[str, Any]) -> dict[str, Any]:
    """A listed token: no plaintext (it is not stored), timestamps only when set."""
    body = {key: row[key] for key in ("id", "name", "prefix")}
    for key in ("created_at", "last_used_at", "revoked_at"):
        if row[key] is not None:
            body[key] = serialize.rfc3339(row[key])
    return body


def read_object(req: falcon.Request, allowed: frozenset[str]) -> tuple[Reader, Problems]:
    """A JSON object body whose unknown keys are already recorded as problems (422)."""
    body = read_json(req, modern=True)
    if not isinstance(body, dict):
        raise Problem(422, "request body must be a JSON object")
    problems = Problems()
    reader = Reader(problems, body)
    reader.reject_unknown(allowed)
    return reader, problems


class Login(_Resource):
    """`GET /api/auth/login?next=<path>`: 302 to the identity provider."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.start_login(resp, {"next": local_path(req.get_param("next"))})


class Callback(_Resource):
    """`GET /api/auth/callback`: finish the OIDC login, sign the user in, go where they wanted."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        provider = self.provider()
        resp.append_header("Set-Cookie", expired_cookie(PENDING_COOKIE, self.base))
        pending = self._pending(req)
        state = req.get_param("state") or ""
        if pending is None or not hmac.compare_digest(state.encode(), pending.state.encode()):
            raise Problem(400, "invalid login state")
        if req.get_param("error"):
            raise Problem(400, "the identity provider did not approve the login")
        code = req.get_param("code")
        if not code:
            raise Problem(400, "invalid login state")
        try:
            identity = provider.verify(provider.exchange(code, pending.verifier), pending.nonce)
        except OidcError as exc:
            raise Problem(exc.status, exc.detail) from None
        if len(identity.email) > USER_COLUMN_LENGTH:
            raise Problem(400, f"email address longer than {USER_COLUMN_LENGTH} characters")
        with self.db.connection() as conn:
            user = queries.get_or_create_user(
                conn, identity.email, identity.name[:USER_COLUMN_LENGTH]
            )
            if pending.cli_redirect and pending.cli_state:
                cli_code = new_cli_code()
                queries.issue_cli_code(conn, user["id"], cli_code)
        self.sign_in(resp, user["id"])
        if pending.cli_redirect and pending.cli_state:
            loopback = {"code": cli_code, "state": pending.cli_state}
            redirect(resp, with_query(pending.cli_redirect, loopback))
        else:
            redirect(resp, pending.next or "/")

    def _pending(self, req: falcon.Request) -> Pending | None:
        for value in req.get_cookie_values(PENDING_COOKIE) or ():
            pending = decode_pending(self.settings.session_secret, value)
            if pending is not None:
                return pending
        return None


class CliStart(_Resource):
    """`GET /api/auth/cli-start?redirect_uri=&state=`: a one-time code for a signed-in browser,
    otherwise the OIDC login with the CLI's loopback URL carried along."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        redirect_uri = req.get_param("redirect_uri")
        if not loopback_redirect(redirect_uri):
            raise Problem(400, "invalid redirect_uri")
        state = req.get_param("state")
        if not state or len(state) > 512:
            raise Problem(400, "state is required (at most 512 characters)")
        user = session_user(req, self.settings, self.db)
        if user is None:
            self.start_login(resp, {"cli_redirect": redirect_uri, "cli_state": state})
            return
        code = new_cli_code()
        with self.db.connection() as conn:
            queries.issue_cli_code(conn, user["id"], code)
        redirect(resp, with_query(redirect_uri, {"code": code, "state": state}))


class CliExchange(_Resource):
    """`POST /api/auth/cli-exchange` `{"code", "name"?}`: the one-time code for a new token."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        reader, problems = read_object(req, frozenset({"code", "name"}))
        code = reader.field("code", as_string, required=True)
        name = reader.field("name", as_string)
        if problems:
            raise Problem(422, problems.detail(), problems.modern())
        name = "cli token" if name is None else name.strip()
        if not name or len(name) > MAX_NAME_LENGTH:
            raise Problem(422, f"name must be 1 to {MAX_NAME_LENGTH} non-blank characters")
        with self.db.connection() as conn:
            row = queries.redeem_cli_code(conn, code or "", name)
        if row is None:
            raise Problem(400, "invalid or expired code")
        resp.cache_control = ["no-store"]
        resp.media = token_body(row)


class Logout(_Resource):
    """`POST /api/auth/logout`: 204; the stateless session cookie is only expired."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.append_header("Set-Cookie", expired_cookie(SESSION_COOKIE, self.base))
        resp.status = falcon.HTTP_204


class Capabilities(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        s = self.settings
        signed_in = session_user(req, s, self.db) is not None
        resp.media = {
            "signed_in": signed_in,
            "auth_disabled": s.auth_disabled,
            "can_write_results": s.auth_disabled or signed_in,
            "oidc_enabled": bool(s.oidc_issuer_url and s.session_secret),
            "legacy_login_enabled": bool(s.session_secret),
        }


class CurrentUser(_Resource):
    """`GET /api/users/me`: session cookie only."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        user = require_session(req, self.settings, self.db)
        resp.media = {key: user[key] for key in ("id", "email", "name")}


class TokenList(_Resource):
    """`POST/GET /api/tokens`: the caller's own tokens (a user principal is required)."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        principal = require_user(req, self.settings, self.db)
        reader, problems = read_object(req, frozenset({"name"}))
        if problems:
            raise Problem(422, problems.detail(), problems.modern())
        name = reader.obj.get("name")
        if not isinstance(name, str) or not name.strip():
            raise Problem(422, "name is required")
        if len(name.strip()) > MAX_NAME_LENGTH:
            raise Problem(422, f"name must be at most {MAX_NAME_LENGTH} characters")
        with self.db.connection() as conn:
            row = queries.create_token(conn, principal.user_id, name.strip())
        resp.status = falcon.HTTP_201
        resp.cache_control = ["no-store"]
        resp.media = token_body(row)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        principal = require_user(req, self.settings, self.db)
        with self.db.connection() as conn:
            rows = queries.list_tokens(conn, principal.user_id)
        resp.media = {"tokens": [token_info(row) for row in rows]}


class TokenItem(_Resource):
    """`DELETE /api/tokens/{id}`: revoke (idempotent); unknown or someone else's id is 404."""

    def on_delete(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        principal = require_user(req, self.settings, self.db)
        with self.db.connection() as conn:
            if not queries.revoke_token(conn, principal.user_id, id):
                raise Problem(404, "token not found")
        resp.status = falcon.HTTP_204


class TooManyAttempts(ConbenchError):
    status = 429

    def to_dict(self) -> dict[str, Any]:
        return {"description": self.description}


class LegacyLogin(_Resource):
    """`POST /api/login/` `{email, password}`: the password is one of the user's API tokens; 204
    with a bridge session cookie (01 §2.1)."""

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.failures = FailedLogins()

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        email, password = _login_fields(read_json(req))
        secret = self.settings.session_secret
        if not secret:
            raise ConbenchError(BRIDGE_OFF, status=501)
        source = req.remote_addr or "unknown"
        if self.failures.blocked(source):
            resp.append_header("Retry-After", "60")
            raise TooManyAttempts("too many login attempts")
        with self.db.connection() as conn:
            row = queries.get_bridge_token(conn, email, password)
        if row is None or not hmac.compare_digest(row["token_hash"], token_hash(password)):
            self.failures.record(source)
            resp.append_header("Set-Cookie", expired_cookie(SESSION_COOKIE, self.base))
            raise BadRequest(INVALID_LOGIN)
        STAMPER.submit(self.db, row["id"], row["last_used_at"])
        value = encode_session(secret, row["user_id"], token_id=row["id"])
        resp.append_header("Set-Cookie", session_cookie(value, self.base, bridge=True))
        resp.status = falcon.HTTP_204


def _login_fields(body: Any) -> tuple[str, str]:
    """`{email, password}` checked with marshmallow's messages (legacy 400 shape)."""
    if not isinstance(body, dict):
        raise BadRequest({"_schema": ["Invalid input type."]})
    problems = Problems()
    reader = Reader(problems, body)
    reader.reject_unknown(frozenset({"email", "password"}))
    email = reader.field("email", as_string, required=True)
    password = reader.field("password", as_string, required=True)
    if email is not None and not EMAIL.fullmatch(email.strip()):
        problems.add(("email",), "Not a valid email address.", email)
    if problems:
        raise BadRequest(problems.legacy())
    return str(email).strip(), str(password)


class LegacyLogout(_Resource):
    """`GET /api/logout/`: always 204, expiring the session cookie."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.append_header("Set-Cookie", expired_cookie(SESSION_COOKIE, self.base))
        resp.status = falcon.HTTP_204


class GoogleLogin(_Resource):
    """`GET /api/google/?target=`: the Flask-era SSO entry, now the OIDC login (01 §2.3)."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.provider(modern=False)
        target = local_path(req.get_param("target"))
        redirect(resp, "/api/auth/login" + (f"?{urlencode({'next': target})}" if target else ""))


class GoogleCallback(_Resource):
    """`GET /api/google/callback`: to `/api/auth/callback` with the query unchanged."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.provider(modern=False)
        query = req.query_string
        redirect(resp, "/api/auth/callback" + (f"?{query}" if query else ""))
