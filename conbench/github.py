"""GitHub REST client (05 §2-3): a token pool or GitHub App credentials, retries with backoff,
and a deadline that bounds every attempt, sleep and token exchange of a call.

Deadlines are `time.monotonic()` seconds. A call gets at most CALL_DEADLINE_SECONDS; in-request
enrichment passes an earlier deadline (its CONBENCH_GITHUB_TIMEOUT budget). Tokens never appear
in an error message or a log line; logs name a token by its first characters only.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import requests

log = logging.getLogger(__name__)

API_VERSION = "2022-11-28"
CALL_DEADLINE_SECONDS = 20.0
SECONDARY_LIMIT_SLEEP = 2.0
QUOTA_EXHAUSTED = "Hourly GitHub HTTP API quota exhausted"
_CHUNK = 64 * 1024


class GitHubError(Exception):
    """A GitHub call that failed for good. `kind` is one of http, network, timeout, quota, auth,
    malformed, unsupported; the message is one line and never holds a credential."""

    def __init__(self, message: str, *, kind: str = "http", status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.status = status

    @property
    def auth_or_quota(self) -> bool:
        """401, 403 and quota failures: the ones that more attempts with this setup won't fix."""
        return self.kind in ("auth", "quota") or self.status in (401, 403)


class _Retryable(Exception):
    """An attempt that may succeed when repeated: `kind` is network or timeout."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


_DEADLINE = "GitHub call deadline exceeded"


def token_label(token: str) -> str:
    """How logs name a token: its first 6 characters (14 for `github_pat_` tokens)."""
    keep = 14 if token.startswith("github_pat_") else 6
    return token[:keep] + "..."


class TokenPool:
    """GITHUB_API_TOKEN (05 §2.1): round-robin over the usable tokens, shared by the process."""

    def __init__(self, tokens: Sequence[str]) -> None:
        if not tokens:
            raise ValueError("a token pool needs at least one token")
        self._tokens = tuple(tokens)
        self._next = 0
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        return len(self._tokens)

    def take(self) -> str:
        """The next token in turn."""
        with self._lock:
            token = self._tokens[self._next % len(self._tokens)]
            self._next += 1
        return token


class GitHubApp:
    """GitHub App installation credentials (05 §2.2): an RS256 JWT (iat - 60 s, exp + 9 min) is
    exchanged for an installation token, cached until 60 s before it expires."""

    size = 1

    def __init__(
        self,
        app_id: str,
        installation_id: int,
        private_key: str,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app_id = str(app_id)
        self.installation_id = installation_id
        self._private_key = private_key
        self._clock = clock
        self._token: str | None = None
        self._expires = 0.0
        self.lock = threading.Lock()

    @classmethod
    def from_key_file(cls, app_id: str, installation_id: int, path: str) -> GitHubApp:
        return cls(app_id, installation_id, Path(path).read_text(encoding="utf-8"))

    def signed_jwt(self) -> str:
        now = int(self._clock())
        claims = {"iat": now - 60, "exp": now + 9 * 60, "iss": self.app_id}
        return jwt.encode(claims, self._private_key, algorithm="RS256")

    def cached(self) -> str | None:
        """The installation token while it has more than 60 s to live."""
        if self._token is not None and self._clock() < self._expires - 60:
            return self._token
        return None

    def store(self, token: str, expires_at: str) -> None:
        self._token = token
        self._expires = _parse_time(expires_at).timestamp()

    def invalidate(self) -> None:
        self._token = None


Credentials = TokenPool | GitHubApp


class GitHubClient:
    """GET JSON from the GitHub REST API with 05 §3's retry rules; thread-safe and fork-safe
    (each thread of each process gets its own HTTP session)."""

    def __init__(
        self,
        api_url: str,
        credentials: Credentials | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.credentials = credentials
        self._sleep = sleep
        self._clock = clock
        self._local = threading.local()

    def now(self) -> float:
        return self._clock()

    def deadline(self, seconds: float = CALL_DEADLINE_SECONDS) -> float:
        return self._clock() + seconds

    def get(
        self, path: str, params: Mapping[str, Any] | None = None, *, deadline: float | None = None
    ) -> Any:
        """The JSON answer of `GET path`; raises GitHubError. `deadline` bounds the call together
        with the per-call 20 s."""
        end = self.deadline()
        if deadline is not None:
            end = min(end, deadline)
        started = self._clock()
        token = self._token(end)
        attempt = rotations = 0
        refreshed = False
        while True:
            attempt += 1
            try:
                status, headers, body = self._send("GET", path, params, token, end)
            except _Retryable as exc:
                self._backoff(attempt, end, GitHubError(str(exc), kind=exc.kind))
                continue
            remaining = headers.get("x-ratelimit-remaining")
            log.debug(
                "GitHub GET %s: %d in %.3fs (rate limit remaining %s)",
                path,
                status,
                self._clock() - started,
                remaining,
            )
            if status == 200:
                return _json(body, path)
            if status >= 500:
                self._backoff(
                    attempt, end, GitHubError(f"GitHub {status} for {path}", status=status)
                )
            elif status == 429 or (status == 403 and remaining == "0"):
                rotations += 1
                if rotations > self._pool_size():
                    raise GitHubError(QUOTA_EXHAUSTED, kind="quota", status=status)
                if token is not None:
                    log.warning("GitHub rate limit hit with token %s; rotating", token_label(token))
                token = self._token(end)
            elif status == 403:
                error = GitHubError(f"GitHub 403 (secondary rate limit) for {path}", status=403)
                self._wait(SECONDARY_LIMIT_SLEEP, end, error)
            elif status == 401:
                if isinstance(self.credentials, GitHubApp) and not refreshed:
                    refreshed = True
                    self.credentials.invalidate()
                    token = self._token(end)
                    continue
                raise GitHubError("GitHub authentication failed (401)", kind="auth", status=401)
            else:
                raise GitHubError(f"GitHub {status} for {path}", status=status)

    def _pool_size(self) -> int:
        return self.credentials.size if self.credentials is not None else 1

    def _token(self, deadline: float) -> str | None:
        """The token for the next attempt: the pool's next one, or the App's installation token
        (exchanged once for all threads when it is missing or about to expire)."""
        creds = self.credentials
        if creds is None:
            return None
        if isinstance(creds, TokenPool):
            return creds.take()
        with creds.lock:
            token = creds.cached()
            if token is None:
                token = self._exchange(creds, deadline)
        return token

    def _exchange(self, app: GitHubApp, deadline: float) -> str:
        """A new installation token (one attempt: the caller's deadline is usually short)."""
        path = f"/app/installations/{app.installation_id}/access_tokens"
        try:
            signed = app.signed_jwt()
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise GitHubError(
                f"GitHub App private key unusable ({type(exc).__name__})", kind="auth"
            ) from None
        try:
            status, _, body = self._send("POST", path, None, signed, deadline)
        except _Retryable as exc:
            raise GitHubError(f"GitHub App token exchange: {exc}", kind=exc.kind) from None
        if status not in (200, 201):
            kind = "auth" if status in (401, 403) else "http"
            raise GitHubError(f"GitHub App token exchange: {status}", kind=kind, status=status)
        doc = _json(body, path)
        try:
            app.store(doc["token"], doc["expires_at"])
        except (KeyError, TypeError, ValueError):
            raise GitHubError(
                "GitHub App token exchange: malformed answer", kind="malformed"
            ) from None
        return doc["token"]

    def _backoff(self, attempt: int, deadline: float, error: GitHubError) -> None:
        self._wait(min(2**attempt / 3, 5.5), deadline, error)

    def _wait(self, seconds: float, deadline: float, error: GitHubError) -> None:
        """Sleep before the next attempt, or give up with `error` if that would cross the
        deadline."""
        if self._clock() + seconds >= deadline:
            raise error
        self._sleep(seconds)

    def _session(self) -> requests.Session:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.session = requests.Session()
            local.pid = os.getpid()
        return local.session  # type: ignore[no-any-return]

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        token: str | None,
        deadline: float,
    ) -> tuple[int, Mapping[str, str], bytes]:
        """One attempt. Connecting and each read wait at most the time left, and the body is
        abandoned once the deadline passes, so a slow server cannot hold the caller."""
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise _Retryable(_DEADLINE, "timeout")
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "conbench",
        }
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        try:
            with self._session().request(
                method,
                self.api_url + path,
                params=params,
                headers=headers,
                timeout=(remaining, remaining),
                stream=True,
            ) as resp:
                body = bytearray()
                for chunk in resp.iter_content(_CHUNK):
                    body += chunk
                    if self._clock() > deadline:
                        raise _Retryable(_DEADLINE, "timeout")
                return resp.status_code, resp.headers, bytes(body)
        except requests.Timeout:
            raise _Retryable(_DEADLINE, "timeout") from None
        except requests.RequestException as exc:
            raise _Retryable(f"GitHub network error ({type(exc).__name__})", "network") from None


def _json(body: bytes, path: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise GitHubError(f"GitHub sent malformed JSON for {path}", kind="malformed") from None


def _parse_time(text: str) -> datetime:
    """A GitHub timestamp (`2024-01-02T03:04:05Z`) as an aware UTC datetime."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def naive_utc(text: str) -> datetime:
    """A GitHub timestamp as the naive UTC datetime the database stores."""
    return _parse_time(text).replace(tzinfo=None)


def client_for(settings: Any) -> GitHubClient | None:
    """The client of the configured credentials (token pool or App), or None without any."""
    if settings.github_api_tokens:
        return GitHubClient(settings.github_api_url, TokenPool(settings.github_api_tokens))
    if settings.github_app_id and settings.github_app_private_key_file:
        app = GitHubApp.from_key_file(
            settings.github_app_id,
            settings.github_app_installation_id,
            settings.github_app_private_key_file,
        )
        return GitHubClient(settings.github_api_url, app)
    return None
