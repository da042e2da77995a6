"""Who is asking (07 §2.1): principal resolution, and the checks every write and user route makes.

Order, first match wins: auth disabled, the static operator token, a user API token, a session
cookie. A present Authorization header is never retried as a cookie, and anything unexpected
(a malformed header, an unreachable token store) leaves the request unauthenticated.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import falcon
import psycopg

from conbench.config import Settings
from conbench.errors import ConbenchError, Forbidden, Problem, Unauthorized
from conbench.queries import auth as queries
from conbench.sessions import SESSION_COOKIE, decode_session
from conbench.tokens import token_hash

log = logging.getLogger(__name__)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_TOKEN_LENGTH = 512  # longer bearer values are refused without hashing or a query
STAMP_INTERVAL = timedelta(minutes=5)
STAMP_TIMEOUT_SECONDS = 5
CROSS_ORIGIN = "cross-origin write refused"
USER_REQUIRED = "user-attributed authentication required"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller; `user_id` is None for the operator token and auth-disabled mode."""

    kind: str  # "anonymous-writer" | "operator" | "user"
    user_id: str | None = None
    token_id: str | None = None


ANONYMOUS_WRITER = Principal("anonymous-writer")
OPERATOR = Principal("operator")


class CrossOriginWrite(Exception):
    """A cookie-authenticated write whose Origin is not the intended base URL's."""


def resolve_principal(req: falcon.Request, settings: Settings, db: Any) -> Principal | None:
    """The caller of this request, or None; raises CrossOriginWrite for a cookie-authenticated
    write from another origin. The answer is kept on the request, so a route may ask twice."""
    if "principal" not in req.context:
        req.context.principal = _resolve(req, settings, db)
    return req.context.principal


def _resolve(req: falcon.Request, settings: Settings, db: Any) -> Principal | None:
    if settings.auth_disabled:
        return ANONYMOUS_WRITER
    header = req.get_header("Authorization")
    if header is not None:
        return _bearer_principal(header, settings, db)
    user = session_user(req, settings, db)
    if user is None:
        return None
    if req.method in WRITE_METHODS and not same_origin(req.get_header("Origin"), settings):
        raise CrossOriginWrite()
    return Principal("user", user["id"], user["token_id"])


def _bearer_principal(header: str, settings: Settings, db: Any) -> Principal | None:
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or len(value) > MAX_TOKEN_LENGTH:
        return None
    if settings.api_token is not None and _equal(value, settings.api_token):
        return OPERATOR
    try:
        with db.connection() as conn:
            row = queries.get_live_token(conn, value)
    except (ConbenchError, psycopg.Error):
        log.warning("token store unreachable: the request is treated as unauthenticated")
        return None
    if row is None or not hmac.compare_digest(row["token_hash"], token_hash(value)):
        return None
    STAMPER.submit(db, row["id"], row["last_used_at"])
    return Principal("user", row["user_id"], row["id"])


def _equal(given: str, expected: str) -> bool:
    """Constant-time equality that does not leak the expected value's length either."""
    return hmac.compare_digest(
        hashlib.sha256(given.encode("utf-8")).digest(),
        hashlib.sha256(expected.encode("utf-8")).digest(),
    )


def session_user(req: falcon.Request, settings: Settings, db: Any) -> dict[str, Any] | None:
    """`{id, email, name, token_id}` of the request's valid `conbench_session` cookie, else None.
    Bearer headers play no part: this is the check of the session-only routes."""
    if not settings.session_secret:
        return None
    for value in req.get_cookie_values(SESSION_COOKIE) or ():
        claims = decode_session(settings.session_secret, value)
        if claims is None:
            continue
        try:
            with db.connection() as conn:
                row = queries.get_session_user(conn, claims.user_id, claims.token_id)
        except (ConbenchError, psycopg.Error):
            log.warning("user store unreachable: the session cookie is not honoured")
            return None
        if row is None:
            continue
        if claims.token_id is not None:
            STAMPER.submit(db, claims.token_id, row["token_last_used_at"])
        user = {key: row[key] for key in ("id", "email", "name")}
        return {**user, "token_id": claims.token_id}
    return None


def same_origin(origin: str | None, settings: Settings) -> bool:
    """No Origin header, or one equal to the origin of CONBENCH_INTENDED_BASE_URL."""
    if origin is None:
        return True
    expected = _origin_of(settings.intended_base_url)
    return expected is not None and _origin_of(origin) == expected


def _origin_of(url: str | None) -> str | None:
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    default = 443 if parts.scheme == "https" else 80
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port not in (None, default) else "")


def require_writer(
    req: falcon.Request, settings: Settings, db: Any, *, modern: bool = False
) -> Principal:
    """The principal of a write request, or 401 (403 for a cross-origin cookie write) in the
    surface's error shape."""
    try:
        principal = resolve_principal(req, settings, db)
    except CrossOriginWrite:
        raise (Problem(403, CROSS_ORIGIN) if modern else Forbidden(CROSS_ORIGIN)) from None
    if principal is None:
        raise Problem(401, "authentication required") if modern else Unauthorized()
    return principal


def require_user(req: falcon.Request, settings: Settings, db: Any) -> Principal:
    """A principal with a user id (user token or session): the rule of the token and alert-rule
    routes (02 §12). The operator token and auth-disabled mode get 403, no credential 401."""
    principal = require_writer(req, settings, db, modern=True)
    if principal.user_id is None:
        raise Problem(403, USER_REQUIRED)
    return principal


def require_session(req: falcon.Request, settings: Settings, db: Any) -> dict[str, Any]:
    """The signed-in user of a session cookie, or 401: bearer tokens do not count (02 §11)."""
    user = session_user(req, settings, db)
    if user is None:
        raise Problem(401, "authentication required")
    return user


class LastUsedStamper:
    """Stamps `api_token.last_used_at` off the request path: a daemon thread per process with its
    own short-lived connection (5 s to connect, 5 s per statement and lock), so a slow or failing
    database never delays or fails the request that used the token.

    A token is queued only when its stored stamp is missing or older than 5 minutes and this
    process has not queued it in that time; the UPDATE repeats the 5-minute test, so replicas
    racing for the same token write at most once. The queue is bounded: when full, stamps are
    dropped, never waited for. Without a database URL (the tests' single-connection database)
    nothing is stamped."""

    def __init__(self, max_queued: int = 1000) -> None:
        self.max_queued = max_queued
        self._pid: int | None = None
        self._reset()

    def _reset(self) -> None:
        self._queue: queue.Queue[tuple[str, str]] = queue.Queue(self.max_queued)
        self._lock = threading.Lock()
        self._queued_at: dict[str, float] = {}
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def submit(self, db: Any, token_id: str, last_used_at: datetime | None) -> None:
        url = getattr(db, "url", None)
        now = datetime.now(UTC).replace(tzinfo=None)
        if not url or (last_used_at is not None and now - last_used_at < STAMP_INTERVAL):
            return
        if self._pid != os.getpid():  # forked (gunicorn worker): the parent's thread is gone
            self._reset()
        with self._lock:
            tick = time.monotonic()
            if tick - self._queued_at.get(token_id, -1e18) < STAMP_INTERVAL.total_seconds():
                return
            if len(self._queued_at) > 10 * self.max_queued:
                self._queued_at.clear()
            self._queued_at[token_id] = tick
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="token-stamper", daemon=True)
                self._thread.start()
        try:
            self._queue.put_nowait((url, token_id))
        except queue.Full:
            pass

    def _run(self) -> None:
        while True:
            url, token_id = self._queue.get()
            try:
                with psycopg.connect(
                    url,
                    autocommit=True,
                    connect_timeout=STAMP_TIMEOUT_SECONDS,
                    application_name="conbench-server",
                    options=f"-c statement_timeout={STAMP_TIMEOUT_SECONDS * 1000} "
                    f"-c lock_timeout={STAMP_TIMEOUT_SECONDS * 1000}",
                ) as conn:
                    queries.stamp_token_used(conn, token_id)
            except Exception as exc:
                reason = type(exc).__name__
                log.warning("could not stamp last_used_at of token %s: %s", token_id, reason)
            finally:
                self._queue.task_done()

    def drain(self, timeout: float = 10) -> bool:
        """Wait until every queued stamp was attempted (tests); False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True


class FailedLogins:
    """Failed bridge logins per source address in a sliding minute, counted in this process."""

    def __init__(self, limit: int = 10, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, source: str) -> bool:
        with self._lock:
            return len(self._recent(source, time.monotonic())) >= self.limit

    def record(self, source: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 10_000:
                for key in [k for k in self._seen if not self._recent(k, now)]:
                    del self._seen[key]
            self._seen.setdefault(source, deque()).append(now)

    def _recent(self, source: str, now: float) -> deque[float]:
        events = self._seen.get(source, deque())
        while events and now - events[0] >= self.window:
            events.popleft()
        return events


STAMPER = LastUsedStamper()
