"""Helpers every resource uses: JSON bodies, absolute links, pagination parameters."""

from __future__ import annotations

from typing import Any

import falcon

from conbench import jsoncodec
from conbench.config import Settings
from conbench.errors import BadRequest, Problem

_UNREADABLE = "The browser (or proxy) sent a request that this server could not understand."


def read_json(req: falcon.Request, *, modern: bool = False) -> Any:
    """The parsed JSON body; non-JSON content or undecodable bytes are the surface's 400/422."""
    content_type = (req.content_type or "").split(";", 1)[0].strip().lower()
    raw = req.bounded_stream.read()
    if content_type != "application/json" and not content_type.endswith("+json"):
        if modern:
            raise Problem(422, "request body must be JSON (Content-Type: application/json)")
        raise BadRequest(_UNREADABLE)
    try:
        return jsoncodec.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        if modern:
            raise Problem(422, "request body is not valid JSON") from None
        raise BadRequest(_UNREADABLE) from None


def base_url(req: falcon.Request, settings: Settings) -> str:
    """Origin for absolute links: CONBENCH_INTENDED_BASE_URL, else the request's scheme and host."""
    if settings.intended_base_url:
        return settings.intended_base_url
    return f"{req.scheme}://{req.netloc}"


def page_size(
    req: falcon.Request, *, default: int = 100, maximum: int = 1000, modern: bool = False
) -> int:
    """`page_size` in 1..maximum; the legacy message is exact (01 §4)."""
    raw = req.get_param("page_size")
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if 1 <= value <= maximum:
        return value
    if modern:
        raise Problem(422, f"page_size must be an integer from 1 to {maximum}")
    raise BadRequest(
        {"_errors": [f"page_size must be a positive integer no greater than {maximum}"]}
    )


def legacy_cursor(req: falcon.Request) -> str | None:
    """`cursor` absent, empty or the literal `null` means the first page (01 §4)."""
    raw = req.get_param("cursor")
    return None if raw in (None, "", "null") else raw
