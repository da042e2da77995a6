"""GitHub commit enrichment (05 §1, §4): what to store for a commit the database does not know.

`Enricher.enrich` maps GitHub's answers to a commit row or raises GitHubError; repair-commits
uses it as is. `GitHubCommitResolver` is the ingest-time resolver: every commit of one request
shares one CONBENCH_GITHUB_TIMEOUT budget, and any failure becomes the unknown commit row.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from conbench import metrics
from conbench.github import GitHubClient, GitHubError, client_for, naive_utc
from conbench.ingest import CommitRef, CommitResolver, NewCommit, commit_resolver_for

log = logging.getLogger(__name__)

DEFAULT_LABEL_TTL_SECONDS = 600
MESSAGE_LIMIT = 240
AUTHOR_NAME_LIMIT = 100  # commit.author_name is varchar(100)
LOGIN_LIMIT = 50
AVATAR_LIMIT = 100
BRANCH_LIMIT = 510
_REPO_PATH = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_GITHUB = "https://github.com/"


def normalize_repository(url: str) -> str:
    """Trim, rewrite `git@github.com:` to https and strip trailing slashes; case is kept."""
    url = url.strip()
    if url.startswith("git@github.com:"):
        url = _GITHUB + url.removeprefix("git@github.com:")
    return url.rstrip("/")


def repository_path(url: str) -> str | None:
    """`org/repo` of a GitHub repository URL, or None when the URL is unsupported."""
    url = normalize_repository(url)
    if not url.startswith(_GITHUB):
        return None
    path = url.removeprefix(_GITHUB)
    return path if _REPO_PATH.fullmatch(path) else None


def unsupported(repository: str) -> GitHubError:
    return GitHubError(f"unsupported repository {repository!r}", kind="unsupported")


def commit_columns(doc: Any) -> dict[str, Any]:
    """§1.1 row 1: the commit columns of a GitHub commit object (`GET .../commits/{sha}` or an
    item of the commits list), including its `sha`; GitHubError when the object is malformed."""
    try:
        commit = doc["commit"]
        author = commit["author"]
        parents = doc.get("parents") or []
        account = doc.get("author")
        login = account.get("login") if isinstance(account, dict) else None
        avatar = account.get("avatar_url") if isinstance(account, dict) else None
        message = (commit.get("message") or "").split("\n", 1)[0].rstrip("\r")
        return {
            "sha": _text(doc["sha"]),
            "parent": _text(parents[0]["sha"]) if parents else None,
            "timestamp": naive_utc(author["date"]),
            "message": message[:MESSAGE_LIMIT],
            "author_name": (author.get("name") or "")[:AUTHOR_NAME_LIMIT],
            "author_login": login if isinstance(login, str) and len(login) <= LOGIN_LIMIT else None,
            "author_avatar": avatar
            if isinstance(avatar, str) and len(avatar) <= AVATAR_LIMIT
            else None,
        }
    except (KeyError, IndexError, TypeError, ValueError, AttributeError):
        raise GitHubError("GitHub sent a malformed commit", kind="malformed") from None


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError("not a string")
    return value


class Enricher:
    """The GitHub calls of 05 §1.1, in order; the default-branch label of each repository is
    cached by the process for ten minutes."""

    def __init__(self, client: GitHubClient, *, label_ttl: float = DEFAULT_LABEL_TTL_SECONDS):
        self.client = client
        self.label_ttl = label_ttl
        self._labels: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def enrich(self, ref: CommitRef, deadline: float) -> NewCommit:
        """The GitHub-context commit row of `ref`; raises GitHubError on any failure."""
        path = repository_path(ref.repository)
        if path is None:
            raise unsupported(ref.repository)
        sha = quote(ref.sha, safe="")
        columns = commit_columns(self.client.get(f"/repos/{path}/commits/{sha}", deadline=deadline))
        if ref.branch:
            branch = ref.branch
        elif ref.pr_number is not None:
            pull = self.client.get(f"/repos/{path}/pulls/{ref.pr_number}", deadline=deadline)
            branch = _field(pull, "head", "label")
        else:
            branch = self.default_label(path, deadline)
        label = self.default_label(path, deadline)
        compare = self.client.get(
            f"/repos/{path}/compare/{quote(label, safe=':/')}...{sha}", deadline=deadline
        )
        fork_point = _field(compare, "merge_base_commit", "sha")
        on_default = fork_point == ref.sha
        return NewCommit(
            parent=columns["parent"],
            message=columns["message"],
            author_name=columns["author_name"],
            author_login=columns["author_login"],
            author_avatar=columns["author_avatar"],
            timestamp=columns["timestamp"],
            branch=branch[:BRANCH_LIMIT],
            fork_point_sha=fork_point,
            backfill_branch=label if on_default else None,
        )

    def default_label(self, path: str, deadline: float) -> str:
        """`owner:default_branch` of the repository, or of its source when it is a fork."""
        now = self.client.now()
        with self._lock:
            cached = self._labels.get(path)
        if cached is not None and cached[0] > now:
            return cached[1]
        repo = self.client.get(f"/repos/{path}", deadline=deadline)
        source = repo.get("source") if isinstance(repo, dict) and repo.get("fork") else repo
        label = f"{_field(source, 'owner', 'login')}:{_field(source, 'default_branch')}"
        with self._lock:
            self._labels[path] = (now + self.label_ttl, label)
        return label


def _field(doc: Any, *keys: str) -> str:
    try:
        for key in keys:
            doc = doc[key]
        return _text(doc)
    except (KeyError, TypeError):
        raise GitHubError(f"GitHub answer lacks {'.'.join(keys)}", kind="malformed") from None


class GitHubCommitResolver:
    """Ingest-time enrichment: the commits of one request share one budget; a failure of any
    kind stores the unknown row, counts it and logs a warning (no credentials in it)."""

    offline = False

    def __init__(self, enricher: Enricher, budget: float) -> None:
        self.enricher = enricher
        self.budget = budget

    def resolve(self, ref: CommitRef) -> NewCommit:
        return self.resolve_many([ref])[0]

    def resolve_many(self, refs: Sequence[CommitRef]) -> list[NewCommit]:
        deadline = self.enricher.client.deadline(self.budget)
        return [self._resolve(ref, deadline) for ref in refs]

    def _resolve(self, ref: CommitRef, deadline: float) -> NewCommit:
        started = self.enricher.client.now()
        try:
            new = self.enricher.enrich(ref, deadline)
        except Exception as exc:  # any failure degrades; the POST must not fail (05 §4)
            reason = exc.message if isinstance(exc, GitHubError) else type(exc).__name__
            metrics.GITHUB_UNKNOWN_COMMITS.inc()
            log.warning(
                "commit enrichment failed; stored unknown commit",
                extra={
                    "repository": ref.repository,
                    "sha": ref.sha,
                    "reason": reason,
                    "seconds": round(self.enricher.client.now() - started, 3),
                },
            )
            return NewCommit()
        log.debug(
            "enriched commit %s of %s in %.3fs",
            ref.sha,
            ref.repository,
            self.enricher.client.now() - started,
        )
        return new


def commit_resolver(settings: Any) -> CommitResolver:
    """GitHub enrichment when credentials are configured, else the offline resolver (05 §2.3)."""
    client = client_for(settings)
    if client is None:
        return commit_resolver_for(settings.init_schema, settings.seed)
    return GitHubCommitResolver(Enricher(client), settings.github_timeout)
