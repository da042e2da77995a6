"""`conbench results submit`: validate result files locally, then post them to a server (02 §14).

Every result gets one JSON line on stdout, in input order: `{file, index?, ok, id?,
history_fingerprint?, error?}` (`index` only for array files). Exit 0 when every result was stored
(or replayed), 1 when any failed, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from conbench.cli import Env, UsageError
from conbench.commands.auth import resolve_token, server_url
from conbench.validation import BusinessRuleError, ValidationFailed, prepare_result

BULK_LIMIT = 5000  # the server's limit per request (docs/api.md)
TIMEOUT = (5.0, 150.0)  # connect, read: a bulk request may take a while
_GLOB_CHARS = frozenset("*?[")


@dataclass
class Item:
    """One result of one file and, once known, what became of it."""

    file: str
    index: int | None
    body: Any = None
    error: str | None = None
    id: str | None = None
    history_fingerprint: str | None = None

    def line(self) -> str:
        out: dict[str, Any] = {"file": self.file}
        if self.index is not None:
            out["index"] = self.index
        out["ok"] = self.error is None
        if self.error is None:
            out["id"] = self.id
            out["history_fingerprint"] = self.history_fingerprint
        else:
            out["error"] = self.error
        return json.dumps(out)


def cmd_results_submit(env: Env, args: argparse.Namespace) -> int:
    """Validate every result locally, submit the valid ones, print one line per result."""
    try:
        server = server_url(env, args.server)
        paths = expand(args.files)
    except UsageError as exc:
        print(f"usage error: {exc}", file=sys.stderr)
        return 2
    token = resolve_token(env, server, args.token)
    items = list(read_items(paths, submission_key_from_file=args.submission_key_from_file))
    for item in items:
        if item.error is None:
            item.error = local_problem(item.body)
    client = _Client(server, token)
    valid = [item for item in items if item.error is None]
    if args.bulk:
        chunks = [valid[i : i + BULK_LIMIT] for i in range(0, len(valid), BULK_LIMIT)]
        work, submit = chunks, client.submit_bulk
    else:
        work, submit = [[item] for item in valid], client.submit_one
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        done = {id(chunk[0]): pool.submit(submit, chunk) for chunk in work}
        for item in items:
            future = done.get(id(item))
            if future is not None:
                future.result()  # items of a chunk are filled in before its first is printed
            print(item.line(), flush=True)
    return 0 if all(item.error is None for item in items) else 1


def expand(patterns: Sequence[str]) -> list[str]:
    """Files named or matched, in argument order (matches sorted); a pattern matching nothing is
    a usage error, so a typo never passes as an empty submission."""
    paths: list[str] = []
    for pattern in patterns:
        if _GLOB_CHARS & set(pattern):
            matches = sorted(glob.glob(pattern, recursive=True))
            if not matches:
                raise UsageError(f"no file matches {pattern!r}")
            paths.extend(matches)
        elif not Path(pattern).exists():
            raise UsageError(f"no such file: {pattern!r}")
        else:
            paths.append(pattern)
    return paths


def read_items(paths: Sequence[str], *, submission_key_from_file: bool) -> Iterator[Item]:
    """The results of each file: an object is one result, an array several."""
    for path in paths:
        try:
            raw = Path(path).read_bytes()
            doc = json.loads(raw)
        except OSError as exc:
            yield Item(path, None, error=f"cannot read file: {exc.strerror or exc}")
            continue
        except (ValueError, UnicodeDecodeError) as exc:
            yield Item(path, None, error=f"not valid JSON: {exc}")
            continue
        bodies = doc if isinstance(doc, list) else [doc]
        digest = hashlib.sha256(raw).hexdigest()
        for index, body in enumerate(bodies):
            item = Item(path, index if isinstance(doc, list) else None, body)
            if submission_key_from_file and isinstance(body, dict):
                body.setdefault("submission_key", f"{digest}:{index}")
            yield item


def local_problem(body: Any) -> str | None:
    """The server's own validation, run here so a bad file never reaches the network."""
    try:
        prepare_result(body, modern=True)
    except ValidationFailed as exc:
        return f"invalid: {exc.detail}"
    except BusinessRuleError as exc:
        return f"invalid: {exc.message}"
    return None


class _Client:
    """POSTs to /api/results with one keep-alive session per thread."""

    def __init__(self, server: str, token: str | None) -> None:
        self.url = f"{server}/api/results"
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.local = threading.local()

    def _post(self, body: Any) -> requests.Response:
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
        return session.post(self.url, json=body, headers=self.headers, timeout=TIMEOUT)

    def submit_one(self, items: list[Item]) -> None:
        (item,) = items
        try:
            resp = self._post(item.body)
        except requests.RequestException as exc:
            item.error = f"request failed: {exc}"
            return
        if resp.status_code == 201:
            body = resp.json()
            item.id, item.history_fingerprint = body["id"], body["history_fingerprint"]
        else:
            item.error = _http_error(resp)

    def submit_bulk(self, items: list[Item]) -> None:
        """One array request: all of its results are stored, or none is."""
        try:
            resp = self._post([item.body for item in items])
        except requests.RequestException as exc:
            for item in items:
                item.error = f"request failed: {exc}"
            return
        if resp.status_code == 201:
            for item, stored in zip(items, resp.json()["results"], strict=True):
                item.id, item.history_fingerprint = stored["id"], stored["history_fingerprint"]
            return
        general = _http_error(resp)
        own = _errors_by_index(resp)
        for i, item in enumerate(items):
            if i in own:
                item.error = f"HTTP {resp.status_code}: {'; '.join(own[i])}"
            else:
                item.error = f"not stored, the bulk request failed: {general}"


def _http_error(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("description")
        if detail:
            return f"HTTP {resp.status_code}: {detail}"
    return f"HTTP {resp.status_code}: {resp.reason}"


def _errors_by_index(resp: requests.Response) -> dict[int, list[str]]:
    """Problem `errors` whose location is `body[i]...`, grouped by i."""
    try:
        errors = resp.json().get("errors") or []
    except (ValueError, AttributeError):
        return {}
    found: dict[int, list[str]] = {}
    for error in errors:
        location = str(error.get("location", ""))
        if not location.startswith("body["):
            continue
        index, _, rest = location[5:].partition("]")
        if index.isdigit():
            where = rest.lstrip(".") or "body"
            found.setdefault(int(index), []).append(f"{where}: {error.get('message')}")
    return found
