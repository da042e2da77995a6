"""Commits of submitted results: what a result says about its commit, and the resolvers that
decide what to store for a commit the database does not know yet (05 §1-§2)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class CommitRef:
    """What a result says about its commit; `timestamp` is the result's own (naive UTC)."""

    repository: str
    sha: str
    branch: str | None = None
    pr_number: int | None = None
    timestamp: datetime | None = None


@dataclass(frozen=True)
class NewCommit:
    """The commit row to store when (sha, repository) is not in the database yet.

    The defaults are the "unknown" commit of 03 §2.4: empty message and author, the rest NULL.
    `backfill_branch` is not a column: the default-branch label to backfill (05 §5) when GitHub
    placed the commit on its default branch.
    """

    parent: str | None = None
    message: str = ""
    author_name: str = ""
    author_login: str | None = None
    author_avatar: str | None = None
    timestamp: datetime | None = None
    branch: str | None = None
    fork_point_sha: str | None = None
    backfill_branch: str | None = None

    def columns(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "backfill_branch"}


class CommitResolver(Protocol):
    """Decides what to store for a commit the database does not know (05 §1).

    `offline` resolvers are cheap and may be asked about commits that already exist (their answer
    is then unused); others, like GitHub enrichment, are asked only about missing commits.
    """

    offline: bool

    def resolve(self, ref: CommitRef) -> NewCommit: ...


@runtime_checkable
class BatchCommitResolver(CommitResolver, Protocol):
    """A resolver that decides the missing commits of one request together, so they can share
    one time budget (GitHub enrichment, CONBENCH_GITHUB_TIMEOUT)."""

    def resolve_many(self, refs: Sequence[CommitRef]) -> list[NewCommit]: ...


class UnknownCommitResolver:
    """No GitHub: every new commit is stored "unknown", to be repaired later (05 §2.3, §6)."""

    offline = True

    def resolve(self, ref: CommitRef) -> NewCommit:
        return NewCommit()


class LocalCommitMap:
    """Development and seed mode (05 §2.3): commits from a fixed map by sha, others synthesized
    as default-branch commits dated like their result, so local histories work offline."""

    offline = True

    def __init__(self, commits: Mapping[str, NewCommit] | None = None) -> None:
        self.commits = dict(commits or {})

    def resolve(self, ref: CommitRef) -> NewCommit:
        known = self.commits.get(ref.sha)
        if known is not None:
            return known
        return NewCommit(timestamp=ref.timestamp, fork_point_sha=ref.sha)


def commit_resolver_for(init_schema: bool, seed: bool) -> CommitResolver:
    """The resolver of a server without GitHub credentials: local in development, else unknown."""
    return LocalCommitMap() if init_schema or seed else UnknownCommitResolver()
