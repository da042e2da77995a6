"""The error tree of the API; every error leaves the server as {"code", "name", "description"}."""

from http import HTTPStatus
from typing import Any

# Werkzeug's wording, which legacy clients and their users have seen for years.
DEFAULT_DESCRIPTIONS = {
    400: "The browser (or proxy) sent a request that this server could not understand.",
    401: (
        "The server could not verify that you are authorized to access the URL requested. "
        "You either supplied the wrong credentials (e.g. a bad password), or your browser "
        "doesn't understand how to supply the credentials required."
    ),
    404: (
        "The requested URL was not found on the server. If you entered the URL manually "
        "please check your spelling and try again."
    ),
    405: "The method is not allowed for the requested URL.",
}


def default_description(status: int) -> str:
    return DEFAULT_DESCRIPTIONS.get(status) or HTTPStatus(status).description


class ConbenchError(Exception):
    """An error with an HTTP status; `description` is a string or a JSON-able structure."""

    status: int = 500

    def __init__(self, description: Any = None, *, status: int | None = None) -> None:
        if status is not None:
            self.status = status
        if description is None:
            description = default_description(self.status)
        super().__init__(description if isinstance(description, str) else repr(description))
        self.description = description

    @property
    def name(self) -> str:
        return HTTPStatus(self.status).phrase

    def to_dict(self) -> dict[str, Any]:
        return error_body(self.status, self.description)


class BadRequest(ConbenchError):
    status = 400


class Unauthorized(ConbenchError):
    status = 401


class Forbidden(ConbenchError):
    status = 403


class NotFound(ConbenchError):
    status = 404


class Conflict(ConbenchError):
    status = 409


class Unprocessable(ConbenchError):
    status = 422


class ServiceUnavailable(ConbenchError):
    status = 503


def error_body(status: int, description: Any) -> dict[str, Any]:
    """The one error shape of the API."""
    return {"code": status, "name": HTTPStatus(status).phrase, "description": description}


class Problem(ConbenchError):
    """An error of the modern surface, sent as application/problem+json:
    `{"title", "status", "detail", "errors"?}` where errors are `{message, location, value}`."""

    def __init__(
        self, status: int, detail: str, errors: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(detail, status=status)
        self.errors = errors

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "title": HTTPStatus(self.status).phrase,
            "status": self.status,
            "detail": self.description,
        }
        if self.errors:
            body["errors"] = self.errors
        return body
