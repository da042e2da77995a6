"""Submitting results: the legacy create (01 §5, alias `/api/benchmarks/`) and the modern
idempotent `POST /api/results` (02 §3), which also takes a JSON array (bulk, all or nothing)."""

from __future__ import annotations

from typing import Any

import falcon

from conbench import serialize
from conbench.auth import require_writer
from conbench.enrichment import commit_resolver
from conbench.errors import BadRequest, ConbenchError, Problem
from conbench.ingest import (
    InvalidItems,
    StoredResult,
    StoreRejected,
    SubmissionConflict,
    submit_payloads,
)
from conbench.queries.results import get_result
from conbench.resources.common import base_url, read_json
from conbench.validation import ValidationFailed

MAX_BULK_RESULTS = 5000
REPLAYED_HEADER = "Idempotent-Replayed"


def add_routes(table, ctx) -> None:  # type: ignore[no-untyped-def]
    legacy = LegacyCreate(ctx)
    table.add("/api/benchmark-results/", legacy, "legacy")
    table.add("/api/benchmarks/", legacy, "legacy")
    table.add("/api/results", ModernSubmit(ctx), "modern")


class LegacyBusinessError(ConbenchError):
    """A result-create rule (01 §5.3): upstream answered `{"description": ...}` only."""

    status = 400

    def to_dict(self) -> dict[str, Any]:
        return {"description": self.description}


class _Submit:
    def __init__(self, ctx: Any) -> None:
        self.settings = ctx.settings
        self.db = ctx.db
        # GitHub enrichment with credentials, else unknown (or, in development, local) commits.
        self.commits = commit_resolver(ctx.settings)


class LegacyCreate(_Submit):
    """`POST /api/benchmark-results/`: 201 with the full result entity and `Location`."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        require_writer(req, self.settings, self.db)
        body = read_json(req)
        with self.db.connection() as conn:
            try:
                stored = submit_payloads(
                    conn,
                    [body],
                    modern=False,
                    commits=self.commits,
                    surface="legacy",
                    detail=True,
                )
            except InvalidItems as exc:
                _, error = exc.errors[0]
                if isinstance(error, ValidationFailed):
                    raise BadRequest(error.legacy_errors) from None
                raise LegacyBusinessError(error.message) from None
            except StoreRejected as exc:
                if exc.path:
                    raise BadRequest(_legacy_tree(exc.path, exc.message)) from None
                raise LegacyBusinessError(exc.message) from None
            # The insert returns the stored row when it found every dimension; else read it.
            row = stored[0].row or get_result(conn, stored[0].id)
        assert row is not None
        entity = serialize.legacy_result(row, base_url(req, self.settings))
        resp.status = falcon.HTTP_201
        resp.location = entity["links"]["self"]
        resp.media = entity


class ModernSubmit(_Submit):
    """`POST /api/results`: an object stores one result, an array up to MAX_BULK_RESULTS."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        require_writer(req, self.settings, self.db, modern=True)
        body = read_json(req, modern=True)
        bulk = isinstance(body, list)
        bodies = body if bulk else [body]
        if bulk and not bodies:
            raise Problem(422, "a bulk submission needs at least one result")
        if len(bodies) > MAX_BULK_RESULTS:
            raise Problem(
                413,
                f"a bulk submission holds at most {MAX_BULK_RESULTS} results, got "
                f"{len(bodies)}; split the array",
            )
        with self.db.connection() as conn:
            try:
                stored = submit_payloads(
                    conn, bodies, modern=True, commits=self.commits, surface="modern"
                )
            except SubmissionConflict as exc:
                raise _conflict(exc, bulk) from None
            except InvalidItems as exc:
                raise _invalid(exc, bulk) from None
            except StoreRejected as exc:
                raise _rejected(exc, bulk) from None
        resp.status = falcon.HTTP_201
        if bulk:
            resp.media = {"results": [_bulk_item(s) for s in stored]}
            return
        if stored[0].replayed:
            resp.set_header(REPLAYED_HEADER, "true")
        resp.media = _item(stored[0])


def _item(stored: StoredResult) -> dict[str, Any]:
    return {
        "id": stored.id,
        "run_id": stored.run_id,
        "history_fingerprint": stored.history_fingerprint,
    }


def _bulk_item(stored: StoredResult) -> dict[str, Any]:
    return {**_item(stored), "replayed": stored.replayed}


def _conflict(exc: SubmissionConflict, bulk: bool) -> Problem:
    if not bulk:
        return Problem(409, exc.message)
    errors = [
        {"message": exc.message, "location": f"body[{i}].submission_key"} for i in exc.indexes
    ]
    return Problem(409, f"{exc.message} (items {_list(exc.indexes)})", errors)


def _invalid(exc: InvalidItems, bulk: bool) -> Problem:
    """One 422 for every invalid item; bulk locations carry the item's index."""
    if not bulk:
        _, error = exc.errors[0]
        if isinstance(error, ValidationFailed):
            return Problem(422, error.detail, error.problems)
        return Problem(422, error.message)
    errors: list[dict[str, Any]] = []
    for i, error in exc.errors:
        if isinstance(error, ValidationFailed):
            errors.extend(_at_index(problem, i) for problem in error.problems)
        else:
            errors.append({"message": error.message, "location": f"body[{i}]"})
    indexes = [i for i, _ in exc.errors]
    detail = f"{len(indexes)} of the submitted results are invalid (items {_list(indexes)})"
    return Problem(422, detail, errors)


def _rejected(exc: StoreRejected, bulk: bool) -> Problem:
    if exc.index is None:
        return Problem(422, exc.message)
    location = _location(exc.path, exc.index if bulk else None)
    errors = [{"message": exc.message, "location": location}]
    return Problem(422, f"{location}: {exc.message}", errors)


def _location(path: tuple[str | int, ...], index: int | None) -> str:
    head = "body" if index is None else f"body[{index}]"
    return head + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _legacy_tree(path: tuple[str | int, ...], message: str) -> dict[str, Any]:
    """The marshmallow shape: nested keys (list positions as strings) down to a message list."""
    tree: Any = [message]
    for part in reversed(path):
        tree = {str(part): tree}
    return tree


def _at_index(problem: dict[str, Any], index: int) -> dict[str, Any]:
    location = problem.get("location") or "body"
    if location == "body" or location.startswith(("body.", "body[")):
        location = f"body[{index}]" + location[len("body") :]
    return {**problem, "location": location}


def _list(indexes: list[int], limit: int = 20) -> str:
    shown = ", ".join(str(i) for i in indexes[:limit])
    return shown + (", ..." if len(indexes) > limit else "")
