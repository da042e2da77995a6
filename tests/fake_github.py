"""A fake GitHub REST API: a real HTTP server on 127.0.0.1 serving the endpoints of spec 05 with
JSON shaped like GitHub's, plus failures on demand (5xx, rate limits, 401, slow answers).

Tests build the world (`add_repo`, `add_history`, `add_commit`, `add_pull`), point the code at
`fake.url`, and read `fake.requests` afterwards. Thread-safe: server processes may call it too.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import jwt

API_VERSION = "2022-11-28"


@dataclass
class Seen:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, str]
    token: str | None
    headers: dict[str, str]


@dataclass
class _Failure:
    match: str
    status: int
    times: int
    headers: dict[str, str]
    body: Any


@dataclass
class _Repo:
    owner: str
    name: str
    default_branch: str
    fork_of: str | None
    history: list[str] = field(default_factory=list)  # default branch, oldest first


def sha_for(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeGitHub:
    """State of the fake API and the server that serves it."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.repos: dict[str, _Repo] = {}
        self.commits: dict[tuple[str, str], dict[str, Any]] = {}
        self.pulls: dict[tuple[str, int], dict[str, Any]] = {}
        self.merge_bases: dict[tuple[str, str], str] = {}
        self.tokens: set[str] | None = None  # None: any token (or none) is accepted
        self.rate_limited: dict[str, int] = {}  # token -> status (403 or 429)
        self.failures: list[_Failure] = []
        self.delays: list[tuple[str, float]] = []
        self.requests: list[Seen] = []
        self.app: tuple[int, str] | None = None  # (installation id, public key PEM)
        self.app_tokens: list[str] = []
        self.app_token_lifetime = timedelta(hours=1)
        self._server: ThreadingHTTPServer | None = None

    # -- the world -------------------------------------------------------------------------

    def add_repo(
        self, path: str, default_branch: str = "main", fork_of: str | None = None
    ) -> _Repo:
        owner, name = path.split("/")
        repo = _Repo(owner, name, default_branch, fork_of)
        with self.lock:
            self.repos[path] = repo
        return repo

    def add_commit(
        self,
        path: str,
        sha: str,
        *,
        parent: str | None = None,
        date: datetime = datetime(2024, 1, 1, 12, tzinfo=UTC),
        message: str = "Fix the thing\n\nA longer explanation.",
        author_name: str = "Ada Lovelace",
        login: str | None = "ada",
        avatar_url: str | None = "https://avatars.githubusercontent.com/u/1?v=4",
        fork_point: str | None = None,
    ) -> dict[str, Any]:
        """A commit; `fork_point` is its merge base with the default branch (off the branch)."""
        account = None
        if login is not None:
            account = {"login": login, "id": 1, "avatar_url": avatar_url, "type": "User",
                       "url": f"https://api.github.com/users/{login}"}  # fmt: skip
        doc = {
            "sha": sha,
            "node_id": "C_" + sha[:12],
            "commit": {
                "author": {"name": author_name, "email": "ada@example.com", "date": iso(date)},
                "committer": {
                    "name": "GitHub",
                    "email": "noreply@github.com",
                    "date": iso(date + timedelta(hours=3)),
                },
                "message": message,
                "tree": {"sha": sha_for("tree" + sha)},
                "comment_count": 0,
                "verification": {"verified": False, "reason": "unsigned"},
            },
            "url": f"https://api.github.com/repos/{path}/commits/{sha}",
            "html_url": f"https://github.com/{path}/commit/{sha}",
            "author": account,
            "committer": {"login": "web-flow", "id": 19864447},
            "parents": [{"sha": parent, "url": "", "html_url": ""}] if parent else [],
            "stats": {"total": 2, "additions": 1, "deletions": 1},
            "files": [],
        }
        with self.lock:
            self.commits[(path, sha)] = doc
            if fork_point is not None:
                self.merge_bases[(path, sha)] = fork_point
        return doc

    def add_history(
        self,
        path: str,
        count: int,
        *,
        start: datetime = datetime(2023, 1, 1, tzinfo=UTC),
        step: timedelta = timedelta(hours=1),
    ) -> list[str]:
        """Append `count` linear commits to the repository's default branch; their shas."""
        repo = self.repos[path]
        shas = []
        with self.lock:
            parent = repo.history[-1] if repo.history else None
            first = len(repo.history)
            for i in range(first, first + count):
                sha = sha_for(f"{path}:{i}")
                message = f"Commit number {i}\n\nDetails."
                date = start + i * step
                self.add_commit(
                    path, sha, parent=parent, date=date, message=message, login=f"dev{i % 7}"
                )
                repo.history.append(sha)
                shas.append(sha)
                parent = sha
        return shas

    def add_pull(self, path: str, number: int, label: str, head_sha: str) -> None:
        user, _, ref = label.partition(":")
        with self.lock:
            self.pulls[(path, number)] = {
                "number": number,
                "state": "open",
                "title": f"PR {number}",
                "head": {"label": label, "ref": ref, "sha": head_sha, "user": {"login": user}},
                "base": {"label": f"{self.repos[path].owner}:main", "ref": "main"},
            }

    # -- failures --------------------------------------------------------------------------

    def fail(
        self,
        match: str,
        status: int,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> None:
        """Answer the next `times` requests whose path contains `match` with `status`."""
        body = body if body is not None else {"message": f"fake failure {status}"}
        with self.lock:
            self.failures.append(_Failure(match, status, times, headers or {}, body))

    def slow(self, seconds: float, match: str = "") -> None:
        """Wait `seconds` before answering requests whose path contains `match`."""
        with self.lock:
            self.delays.append((match, seconds))

    def rate_limit(self, token: str, status: int = 403) -> None:
        with self.lock:
            self.rate_limited[token] = status

    def calls(self, match: str = "") -> list[Seen]:
        """Requests whose path (with its query string) contains `match`."""
        with self.lock:
            return [r for r in self.requests if match in _full(r)]

    # -- server ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeGitHub:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        threading.Thread(
            target=server.serve_forever, args=(0.05,), daemon=True, name="fake-github"
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- answers ---------------------------------------------------------------------------

    def answer(self, seen: Seen, body: bytes) -> tuple[int, dict[str, str], Any]:
        with self.lock:
            for failure in self.failures:
                if failure.times > 0 and failure.match in _full(seen):
                    failure.times -= 1
                    return failure.status, failure.headers, failure.body
        if seen.method == "POST" and seen.path.startswith("/app/installations/"):
            return self._exchange(seen)
        denied = self._check_token(seen.token)
        if denied is not None:
            return denied
        parts = [unquote(p) for p in seen.path.strip("/").split("/")]
        if len(parts) < 3 or parts[0] != "repos":
            return 404, {}, {"message": "Not Found"}
        path = f"{parts[1]}/{parts[2]}"
        rest = parts[3:]
        with self.lock:
            repo = self.repos.get(path)
            if repo is None:
                return 404, {}, {"message": "Not Found"}
            if not rest:
                return 200, {}, self._repo_doc(path, repo)
            if rest == ["commits"]:
                return self._list_commits(path, repo, seen.query)
            if rest[0] == "commits" and len(rest) == 2:
                doc = self.commits.get((path, rest[1]))
                if doc is None:
                    return 422, {}, {"message": f"No commit found for SHA: {rest[1]}"}
                return 200, {}, doc
            if rest[0] == "pulls" and len(rest) == 2 and rest[1].isdigit():
                pull = self.pulls.get((path, int(rest[1])))
                return (200, {}, pull) if pull else (404, {}, {"message": "Not Found"})
            if rest[0] == "compare" and len(rest) >= 2:
                return self._compare(path, repo, "/".join(rest[1:]))
        return 404, {}, {"message": "Not Found"}

    def _check_token(self, token: str | None) -> tuple[int, dict[str, str], Any] | None:
        with self.lock:
            if token is not None and token in self.rate_limited:
                headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1999999999"}
                return self.rate_limited[token], headers, {"message": "API rate limit exceeded"}
            if self.tokens is not None and token not in self.tokens:
                return 401, {}, {"message": "Bad credentials"}
        return None

    def _repo_doc(self, path: str, repo: _Repo) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": abs(hash(path)) % 10**8,
            "name": repo.name,
            "full_name": path,
            "owner": {"login": repo.owner, "type": "Organization"},
            "private": False,
            "fork": repo.fork_of is not None,
            "default_branch": repo.default_branch,
            "html_url": f"https://github.com/{path}",
        }
        if repo.fork_of is not None:
            source = self.repos[repo.fork_of]
            doc["source"] = doc["parent"] = self._repo_doc(repo.fork_of, source)
        return doc

    def _list_commits(
        self, path: str, repo: _Repo, query: dict[str, str]
    ) -> tuple[int, dict[str, str], Any]:
        if query.get("sha", repo.default_branch) != repo.default_branch:
            return 404, {}, {"message": "Not Found"}
        since, until = query.get("since"), query.get("until")
        docs = [self.commits[(path, sha)] for sha in reversed(repo.history)]  # newest first
        docs = [
            d
            for d in docs
            if (since is None or d["commit"]["author"]["date"] >= since)
            and (until is None or d["commit"]["author"]["date"] <= until)
        ]
        per_page = min(int(query.get("per_page", 30)), 100)
        page = int(query.get("page", 1))
        chunk = docs[(page - 1) * per_page : page * per_page]
        last = max(1, -(-len(docs) // per_page))
        links = []
        base = f"{self.url}/repos/{path}/commits?"
        if page < last:
            links.append(f'<{base}{urlencode({**query, "page": page + 1})}>; rel="next"')
            links.append(f'<{base}{urlencode({**query, "page": last})}>; rel="last"')
        return 200, {"Link": ", ".join(links)} if links else {}, chunk

    def _compare(self, path: str, repo: _Repo, spec: str) -> tuple[int, dict[str, str], Any]:
        base, sep, head = spec.partition("...")
        if not sep or (path, head) not in self.commits:
            return 404, {}, {"message": "Not Found"}
        source = self.repos[repo.fork_of] if repo.fork_of else repo
        if base != f"{source.owner}:{source.default_branch}":
            return 404, {}, {"message": "Not Found"}
        merge_base = head if head in source.history else self.merge_bases.get((path, head))
        if merge_base is None:
            return 404, {}, {"message": "No common ancestor"}
        return (
            200,
            {},
            {
                "status": "identical" if merge_base == head else "ahead",
                "ahead_by": 0 if merge_base == head else 1,
                "behind_by": 0,
                "base_commit": {"sha": source.history[-1] if source.history else merge_base},
                "merge_base_commit": {"sha": merge_base, "commit": {}},
                "commits": [],
            },
        )

    def _exchange(self, seen: Seen) -> tuple[int, dict[str, str], Any]:
        """POST /app/installations/{id}/access_tokens: a valid RS256 app JWT gets a token."""
        if self.app is None:
            return 404, {}, {"message": "Not Found"}
        installation, public_key = self.app
        if seen.path != f"/app/installations/{installation}/access_tokens":
            return 404, {}, {"message": "Not Found"}
        try:
            jwt.decode(seen.token or "", public_key, algorithms=["RS256"])
        except jwt.PyJWTError:
            return 401, {}, {"message": "A JSON web token could not be decoded"}
        with self.lock:
            token = f"ghs_{len(self.app_tokens):02d}" + "x" * 34
            self.app_tokens.append(token)
            if self.tokens is not None:
                self.tokens.add(token)
        expires = datetime.now(UTC) + self.app_token_lifetime
        return 201, {}, {"token": token, "expires_at": iso(expires), "permissions": {}}


def _full(seen: Seen) -> str:
    return seen.path + ("?" + urlencode(seen.query) if seen.query else "")


def _handler(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            auth = self.headers.get("Authorization", "")
            token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            seen = Seen(self.command, url.path, query, token, dict(self.headers.items()))
            with fake.lock:
                fake.requests.append(seen)
                delay = sum(s for match, s in fake.delays if match in _full(seen))
            if delay:
                time.sleep(delay)
            status, headers, doc = fake.answer(seen, body)
            payload = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("X-GitHub-Api-Version-Selected", API_VERSION)
                headers = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4999", **headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its deadline passed)

        do_GET = do_POST = _serve

    return Handler
