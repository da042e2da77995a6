"""Why a submission stores nothing: the exceptions callers translate into responses, and the
translation of database refusals into the messages clients see."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import errors as pg_errors

from conbench.validation import BusinessRuleError, Cluster, ResultInput, ValidationFailed

CONFLICT_MESSAGE = "submission key already exists with different content"
BAD_TEXT = "text must not contain NUL characters (\\u0000) or unpaired surrogates"


class SubmissionConflict(Exception):
    """Submission keys stored (or repeated in one request) with other content; nothing stored."""

    def __init__(self, indexes: Sequence[int]) -> None:
        super().__init__(CONFLICT_MESSAGE)
        self.indexes = list(indexes)
        self.message = CONFLICT_MESSAGE


class InvalidItems(Exception):
    """Items that failed validation, by index; nothing was stored."""

    def __init__(self, errors: Sequence[tuple[int, ValidationFailed | BusinessRuleError]]) -> None:
        super().__init__(f"{len(errors)} invalid result(s)")
        self.errors = list(errors)


class StoreRejected(Exception):
    """The database refused a value that validation let through; nothing was stored.

    `index` and `path` locate the value when known (the item, then keys and list positions).
    """

    def __init__(
        self, message: str, *, index: int | None = None, path: tuple[str | int, ...] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.index = index
        self.path = path


def check_message(exc: pg_errors.CheckViolation) -> str:
    """A CHECK of a create_all database (03 §3.6) as the business message clients see."""
    name = exc.diag.constraint_name or ""
    if name.startswith("hardware_"):
        return "machine_info values must be >= 0"
    if name.startswith("benchmark_result_") and "submission" not in name:
        return "aggregate values must be >= 0"
    return first_line(exc)


# varchar limits of the legacy schema that validation does not know (03 §3.3, §3.4).
_LIMITS = ((("github", "commit"), 50), (("github", "repository"), 300))


def too_long(inputs: Sequence[ResultInput]) -> StoreRejected | None:
    """The first value longer than its column, named as in the body."""
    for i, inp in enumerate(inputs):
        for path, limit in _LIMITS:
            if len(getattr(inp.github, path[1]) or "") > limit:
                return StoreRejected(f"Longer than maximum length {limit}.", index=i, path=path)
        hardware = "cluster_info" if isinstance(inp.hardware, Cluster) else "machine_info"
        if len(inp.hardware.hash) > 1000:
            return StoreRejected(
                "Too long: the hardware hash (name and counts) exceeds 1000 characters.",
                index=i,
                path=(hardware, "name"),
            )
    return None


def first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def locate_bad_text(bodies: Sequence[Any], order: Sequence[int]) -> StoreRejected:
    """PostgreSQL stores neither NUL nor lone surrogates; find the first such string (or key)."""
    for i in order:
        path = _bad_text_path(bodies[i], ())
        if path is not None:
            return StoreRejected(BAD_TEXT, index=i, path=path)
    return StoreRejected(BAD_TEXT)


def _bad_text_path(value: Any, path: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
    if isinstance(value, str):
        return path if _bad_string(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if _bad_string(key):
                return (*path, key)
            found = _bad_text_path(item, (*path, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for n, item in enumerate(value):
            found = _bad_text_path(item, (*path, n))
            if found is not None:
                return found
    return None


def _bad_string(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
