"""Signed, stateless cookies (07 §2.2): `conbench_session` and the OIDC `conbench_pending`.

Both are `base64url(payload) + "." + base64url(HMAC-SHA256(secret, base64url(payload)))`, unpadded.
Nothing is stored server-side, so logging out only expires the cookie; a bridge session names
its API token, whose revocation ends the session at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from conbench.config import is_loopback_url

SESSION_COOKIE = "conbench_session"
PENDING_COOKIE = "conbench_pending"
SESSION_MAX_AGE = 30 * 24 * 3600
PENDING_MAX_AGE = 600
PENDING_PATH = "/api/auth"
_PENDING_KEYS = ("state", "nonce", "verifier", "next", "cli_redirect", "cli_state")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: str, payload: bytes) -> str:
    """The signed form of `payload`."""
    body = _b64(payload)
    mac = hmac.new(secret.encode("utf-8"), body.encode("ascii"), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def unsign(secret: str, value: str) -> bytes | None:
    """The payload of a value `sign` made with `secret`; None when malformed or forged."""
    body, dot, mac = value.partition(".")
    if not dot or not body or not mac or not value.isascii():
        return None
    expected = _b64(hmac.new(secret.encode("utf-8"), body.encode("ascii"), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, mac):
        return None
    try:
        return _unb64(body)
    except (binascii.Error, ValueError):
        return None


@dataclass(frozen=True)
class Session:
    """A session cookie's claims; `token_id` only for legacy-bridge sessions."""

    user_id: str
    expires_at: int
    token_id: str | None = None


def encode_session(
    secret: str, user_id: str, *, token_id: str | None = None, now: float | None = None
) -> str:
    """A cookie value for `user_id` valid for 30 days: `<user_id>|<unix expiry>[|<token_id>]`."""
    if "|" in user_id or (token_id is not None and "|" in token_id):
        raise ValueError("ids must not contain '|'")
    expires = int(time.time() if now is None else now) + SESSION_MAX_AGE
    parts = [user_id, str(expires)] + ([token_id] if token_id is not None else [])
    return sign(secret, "|".join(parts).encode("utf-8"))


def decode_session(secret: str, value: str, *, now: float | None = None) -> Session | None:
    """The claims of a genuine, unexpired session cookie, else None."""
    payload = unsign(secret, value)
    if payload is None:
        return None
    try:
        parts = payload.decode("utf-8").split("|")
    except UnicodeDecodeError:
        return None
    if len(parts) not in (2, 3) or not parts[0] or not parts[1].isdigit():
        return None
    if len(parts) == 3 and not parts[2]:
        return None
    expires = int(parts[1])
    if expires <= (time.time() if now is None else now):
        return None
    return Session(parts[0], expires, parts[2] if len(parts) == 3 else None)


@dataclass(frozen=True)
class Pending:
    """An OIDC login in flight: what the callback must see again, and where to go after."""

    state: str
    nonce: str
    verifier: str
    next: str | None = None
    cli_redirect: str | None = None
    cli_state: str | None = None


def encode_pending(secret: str, pending: Pending) -> str:
    """HMAC-signed (not encrypted) JSON of the pending login; absent optional keys are omitted."""
    doc = {k: v for k, v in asdict(pending).items() if v is not None}
    return sign(secret, json.dumps(doc, separators=(",", ":"), sort_keys=True).encode("utf-8"))


def decode_pending(secret: str, value: str) -> Pending | None:
    """The pending login of a genuine cookie, else None."""
    payload = unsign(secret, value)
    if payload is None:
        return None
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict) or set(doc) - set(_PENDING_KEYS):
        return None
    if not all(isinstance(v, str) for v in doc.values()):
        return None
    if not all(doc.get(k) for k in ("state", "nonce", "verifier")):
        return None
    return Pending(**doc)


def cookie_secure(base_url: str | None) -> bool:
    """`Secure` unless the intended base URL's host is loopback; unset or unparsable is Secure."""
    return not is_loopback_url(base_url)


def bridge_cookie_secure(base_url: str | None) -> bool:
    """The legacy bridge's rule (01 §2.1): `Secure` only when the base URL is https."""
    try:
        return bool(base_url) and urlsplit(base_url).scheme == "https"
    except ValueError:
        return False


def set_cookie(name: str, value: str, *, max_age: int, path: str, secure: bool) -> str:
    """A `Set-Cookie` header value: HttpOnly and SameSite=Lax always."""
    header = f"{name}={value}; Max-Age={max_age}; Path={path}; HttpOnly; SameSite=Lax"
    return header + "; Secure" if secure else header


def session_cookie(value: str, base_url: str | None, *, bridge: bool = False) -> str:
    """The header that stores a session cookie minted by OIDC or (bridge) by `POST /api/login/`."""
    secure = bridge_cookie_secure(base_url) if bridge else cookie_secure(base_url)
    return set_cookie(SESSION_COOKIE, value, max_age=SESSION_MAX_AGE, path="/", secure=secure)


def pending_cookie(value: str, base_url: str | None) -> str:
    return set_cookie(
        PENDING_COOKIE,
        value,
        max_age=PENDING_MAX_AGE,
        path=PENDING_PATH,
        secure=cookie_secure(base_url),
    )


def expired_cookie(name: str, base_url: str | None) -> str:
    """A header that deletes cookie `name`. `Secure` only over https, so that a plain-HTTP bridge
    deployment can clear its cookie too (an https response may clear a Secure cookie either way)."""
    path = PENDING_PATH if name == PENDING_COOKIE else "/"
    return set_cookie(name, "", max_age=0, path=path, secure=bridge_cookie_secure(base_url))
