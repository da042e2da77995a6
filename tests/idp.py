"""A real OpenID Connect identity provider for tests, on 127.0.0.1 in a thread.

It serves discovery, a JWKS with one RSA key, an authorize endpoint that approves `user` at once
(redirecting with code and state), and a token endpoint that checks the client secret, the
redirect URI and the PKCE verifier and spends each code once, answering an RS256 ID token.
Knobs bend one thing at a time: `nonce`, `expires_in`, `audience`, `foreign_key`,
`user["email_verified"]`; a code is spent on first use, so replaying one fails by itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

CLIENT_ID = "conbench-test-client"
CLIENT_SECRET = "idp-client-secret-do-not-log-7d2e"


@dataclass
class Grant:
    challenge: str
    nonce: str
    redirect_uri: str
    used: bool = False


@dataclass
class TestIdentityProvider:
    """Start with `start()`, stop with `stop()`; `url` is the issuer."""

    __test__ = False  # not a pytest test class

    user: dict[str, Any] = field(
        default_factory=lambda: {
            "sub": "user-1",
            "email": "ada@example.com",
            "email_verified": True,
            "name": "Ada Lovelace",
        }
    )
    nonce: str | None = None  # sign this nonce instead of the one the login sent
    expires_in: int = 300  # negative: an expired ID token
    audience: str | None = None  # sign for this audience instead of the client id
    foreign_key: bool = False  # sign with a key that is not in the JWKS (same key id)
    url: str = ""
    grants: dict[str, Grant] = field(default_factory=dict)
    token_requests: int = 0
    id_tokens: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(4)
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> TestIdentityProvider:
        idp = self

        class Handler(_Handler):
            provider = idp

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
        }

    def jwks(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def authorize(self, query: dict[str, str]) -> tuple[int, str]:
        """(status, redirect location or error text) for an authorization request."""
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            return 400, "bad client or response type"
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return 400, "PKCE S256 required"
        if "openid" not in query.get("scope", "").split():
            return 400, "openid scope required"
        code = secrets.token_urlsafe(24)
        self.codes.append(code)
        self.grants[code] = Grant(query["code_challenge"], query["nonce"], query["redirect_uri"])
        sep = "&" if "?" in query["redirect_uri"] else "?"
        return (
            302,
            f"{query['redirect_uri']}{sep}{urlencode({'code': code, 'state': query['state']})}",
        )

    def token(self, form: dict[str, str], basic: tuple[str, str] | None) -> tuple[int, dict]:
        """(status, JSON body) for a token request."""
        self.token_requests += 1
        client = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        if client != (CLIENT_ID, CLIENT_SECRET):
            return 401, {"error": "invalid_client"}
        grant = self.grants.get(form.get("code", ""))
        if form.get("grant_type") != "authorization_code" or grant is None or grant.used:
            return 400, {"error": "invalid_grant"}
        grant.used = True
        if form.get("redirect_uri") != grant.redirect_uri:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri"}
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verifier"}
        now = int(time.time())
        claims = {
            **self.user,
            "iss": self.url,
            "aud": self.audience or CLIENT_ID,
            "iat": now,
            "exp": now + self.expires_in,
            "nonce": self.nonce or grant.nonce,
        }
        key = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if self.foreign_key
            else self.key
        )
        id_token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.kid})
        self.id_tokens.append(id_token)
        body = {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer"}
        return 200, {**body, "expires_in": 3600, "id_token": id_token}


class _Handler(BaseHTTPRequestHandler):
    provider: TestIdentityProvider

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/.well-known/openid-configuration":
            self._json(200, self.provider.discovery())
        elif parts.path == "/jwks":
            self._json(200, self.provider.jwks())
        elif parts.path == "/authorize":
            status, where = self.provider.authorize(query)
            if status == 302:
                self.send_response(302)
                self.send_header("Location", where)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self._json(status, {"error": where})
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        basic = None
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            basic = (user, password)
        if urlsplit(self.path).path == "/token":
            self._json(*self.provider.token(form, basic))
        else:
            self._json(404, {"error": "not found"})

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


SESSION_SECRET = "oidc-session-secret-do-not-log-0123456789"


def server_env(idp: TestIdentityProvider, db_url: str, base_url: str, **extra: str) -> dict:
    """The environment of a `conbench serve` that signs users in through `idp`."""
    from tests import procs

    return procs.base_env(
        CONBENCH_DB_URL=db_url,
        CONBENCH_INTENDED_BASE_URL=base_url,
        CONBENCH_OIDC_ISSUER_URL=idp.url,
        CONBENCH_OIDC_CLIENT_ID=CLIENT_ID,
        CONBENCH_OIDC_CLIENT_SECRET=CLIENT_SECRET,
        CONBENCH_SESSION_SECRET=SESSION_SECRET,
        **extra,
    )
