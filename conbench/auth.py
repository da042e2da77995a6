"""Who is asking: principal resolution for write routes (07 §2.1).

This first version knows auth-disabled mode and the static operator token; user API tokens and
session cookies are added behind the same `resolve_principal` / `require_writer` interface.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

import falcon

from conbench.config import Settings
from conbench.errors import Problem, Unauthorized


@dataclass(frozen=True)
class Principal:
    """An authenticated caller; `user_id` is None for the operator token and auth-disabled mode."""

    kind: str  # "anonymous-writer" | "operator" | "user"
    user_id: str | None = None
    token_id: str | None = None


def resolve_principal(req: falcon.Request, settings: Settings) -> Principal | None:
    """The first matching rule wins; a present but unknown bearer token is never retried."""
    if settings.auth_disabled:
        return Principal("anonymous-writer")
    token = bearer_token(req)
    if token is not None and settings.api_token is not None:
        if hmac.compare_digest(token.encode(), settings.api_token.encode()):
            return Principal("operator")
    return None


def bearer_token(req: falcon.Request) -> str | None:
    header = req.get_header("Authorization") or ""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def require_writer(req: falcon.Request, settings: Settings, *, modern: bool = False) -> Principal:
    """The principal of a write request, or 401 in the surface's error shape."""
    principal = resolve_principal(req, settings)
    if principal is None:
        if modern:
            raise Problem(401, "authentication required")
        raise Unauthorized()
    return principal
