"""OpenID Connect relying party (07 §2.4): discovery, PKCE S256, code exchange, ID-token checks.

Discovery documents and key sets are cached per process for an hour; an ID token signed with a
key id the cache does not know triggers one early refresh (key rotation), at most once a minute.
Every request to the provider has a timeout, and no token, code or secret reaches a log line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jwt
import requests

log = logging.getLogger(__name__)

CACHE_TTL_SECONDS = 3600
JWKS_REFRESH_MIN_SECONDS = 60
HTTP_TIMEOUT = (3.05, 10.0)  # connect, read
CLOCK_SKEW_SECONDS = 60
SCOPES = "openid email profile"
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")

_cache: dict[str, tuple[float, Any]] = {}
_cache_lock = threading.Lock()


class OidcError(Exception):
    """A login that cannot complete; `detail` is safe to show the user, `status` is 400 or 502."""

    def __init__(self, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.detail, self.status = detail, status


@dataclass(frozen=True)
class Identity:
    """The verified claims a login needs."""

    email: str
    name: str
    subject: str


def random_secret() -> str:
    """A 32-byte base64url value for `state`, `nonce` and the PKCE verifier."""
    return _b64(secrets.token_bytes(32))


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a verifier (RFC 7636 §4.2)."""
    return _b64(hashlib.sha256(verifier.encode("ascii")).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def clear_cache() -> None:
    """Forget cached discovery documents and key sets (tests)."""
    with _cache_lock:
        _cache.clear()


class Provider:
    """One configured identity provider, as seen by this relying party."""

    def __init__(self, issuer: str, client_id: str, client_secret: str, redirect_uri: str) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri

    def authorization_url(self, *, state: str, nonce: str, verifier: str) -> str:
        """Where to send the browser: the code flow with PKCE S256, `state` and `nonce`."""
        endpoint = self._metadata()["authorization_endpoint"]
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "scope": SCOPES,
                "state": state,
                "nonce": nonce,
                "code_challenge": pkce_challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    def exchange(self, code: str, verifier: str) -> str:
        """The ID token the token endpoint gives for this code; the code is then spent."""
        meta = self._metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": verifier,
        }
        auth: tuple[str, str] | None = (self.client_id, self.client_secret)
        methods = meta.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        if "client_secret_basic" not in methods and "client_secret_post" in methods:
            form.update(client_id=self.client_id, client_secret=self.client_secret)
            auth = None
        try:
            resp = requests.post(
                meta["token_endpoint"],
                data=form,
                auth=auth,
                headers={"Accept": "application/json"},
                timeout=HTTP_TIMEOUT,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            log.warning("OIDC token endpoint unreachable: %s", type(exc).__name__)
            raise OidcError("identity provider unavailable", 502) from None
        if resp.status_code >= 500 or resp.status_code == 401:
            # 401 is the provider refusing this server's client id and secret: a misconfiguration
            log.warning("OIDC token endpoint answered %d", resp.status_code)
            raise OidcError("identity provider unavailable", 502)
        try:
            id_token = resp.json().get("id_token") if resp.status_code == 200 else None
        except (ValueError, AttributeError):
            id_token = None
        if not isinstance(id_token, str) or not id_token:
            log.info("OIDC code exchange refused with status %d", resp.status_code)
            raise OidcError("code exchange failed")
        return id_token

    def verify(self, id_token: str, nonce: str) -> Identity:
        """Check signature (the issuer's JWKS), issuer, audience, expiry, nonce and a verified
        email; return the identity, or raise OidcError naming the failed check."""
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.InvalidTokenError:
            raise _invalid("malformed") from None
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise _invalid("unsupported signing algorithm")
        key = self._signing_key(header.get("kid"), algorithm)
        try:
            claims = jwt.decode(
                id_token,
                key=key,
                algorithms=[algorithm],
                audience=self.client_id,
                issuer=self._metadata()["issuer"],
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise _invalid("expired") from None
        except jwt.InvalidAudienceError:
            raise _invalid("wrong audience") from None
        except jwt.InvalidIssuerError:
            raise _invalid("wrong issuer") from None
        except jwt.InvalidSignatureError:
            raise _invalid("bad signature") from None
        except jwt.InvalidTokenError as exc:
            raise _invalid(f"rejected ({type(exc).__name__})") from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise _invalid("wrong authorized party")
        if not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(
            claims["nonce"].encode(), nonce.encode()
        ):
            raise _invalid("nonce mismatch")
        email = claims.get("email")
        if not isinstance(email, str) or not email.strip():
            raise OidcError("email not verified")
        if claims.get("email_verified") not in (True, "true"):
            raise OidcError("email not verified")
        name = claims.get("name")
        name = name.strip() if isinstance(name, str) and name.strip() else email.strip()
        return Identity(email.strip(), name, str(claims["sub"]))

    def _metadata(self) -> dict[str, Any]:
        url = f"{self.issuer}/.well-known/openid-configuration"
        doc = _cached_json(url)
        keys = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
        if not isinstance(doc, dict) or not all(isinstance(doc.get(k), str) for k in keys):
            raise OidcError("identity provider unavailable", 502)
        if doc["issuer"].rstrip("/") != self.issuer:
            log.warning("OIDC discovery names another issuer than CONBENCH_OIDC_ISSUER_URL")
            raise OidcError("identity provider unavailable", 502)
        return doc

    def _signing_key(self, kid: str | None, algorithm: str) -> Any:
        uri = self._metadata()["jwks_uri"]
        for refresh in (False, True):
            if refresh and not _may_refresh(uri):
                break
            keys = _jwks(uri, refresh=refresh)
            matching = [k for k in keys if kid in (None, k.get("kid")) and _fits(k, algorithm)]
            if kid is None and len(matching) > 1:
                raise _invalid("no key id")
            if matching:
                try:
                    return jwt.PyJWK(matching[0], algorithm=algorithm).key
                except jwt.PyJWKError:
                    raise _invalid("unusable signing key") from None
        raise _invalid("unknown signing key")


def _invalid(reason: str) -> OidcError:
    return OidcError(f"invalid ID token: {reason}")


def _cached_json(url: str, *, refresh: bool = False) -> Any:
    """GET `url` as JSON, cached for CACHE_TTL_SECONDS in this process."""
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(url)
    if hit is not None and not refresh and now - hit[0] < CACHE_TTL_SECONDS:
        return hit[1]
    try:
        resp = requests.get(url, headers={"Accept": "application/json"}, timeout=HTTP_TIMEOUT)
        resp.raise_for_status()
        doc = resp.json()
    except (requests.RequestException, ValueError) as exc:
        log.warning("OIDC provider document %s unavailable: %s", url, type(exc).__name__)
        raise OidcError("identity provider unavailable", 502) from None
    with _cache_lock:
        _cache[url] = (now, doc)
    return doc


def _may_refresh(uri: str) -> bool:
    with _cache_lock:
        hit = _cache.get(uri)
    return hit is None or time.monotonic() - hit[0] >= JWKS_REFRESH_MIN_SECONDS


def _jwks(uri: str, *, refresh: bool) -> list[dict[str, Any]]:
    """The JWKs of the provider's key set document."""
    doc = _cached_json(uri, refresh=refresh)
    keys = doc.get("keys") if isinstance(doc, dict) else None
    if not isinstance(keys, list):
        raise OidcError("identity provider unavailable", 502)
    return [k for k in keys if isinstance(k, dict)]


def _fits(jwk: dict[str, Any], algorithm: str) -> bool:
    """A signing key of the algorithm's family whose declared `alg` (if any) is this one."""
    family = {"R": "RSA", "P": "RSA", "E": "EC"}[algorithm[0]]
    return (
        jwk.get("kty") == family
        and jwk.get("use") in (None, "sig")
        and jwk.get("alg") in (None, algorithm)
    )
