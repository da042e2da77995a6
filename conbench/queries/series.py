"""Series browse (02 §6): which series a page holds, found within bounded windows of recent
default-branch commits, and the newest members each series' status and sparkline need.

A page is ordered by the commit of each series' newest point (newest first), then fingerprint.
Walking the window newest commit first, a fingerprint's first appearance is its newest point, so
the walk stops as soon as the page is full instead of reading the whole window.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from conbench import sql

_Q = sql.load("series")

NARROW_CASES = 64
MEMBERS_PER_SERIES = 256
MAX_BATCH_COMMITS = 64


@dataclass(frozen=True)
class SeriesFilter:
    """Filters of the browse; `pattern` is an escaped ILIKE pattern, timestamps naive UTC."""

    pattern: str | None = None
    hardware: str | None = None
    repository: str | None = None
    fingerprint: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class SeriesKey:
    """A series' place in the page order: its newest point's commit, then its fingerprint."""

    commit_timestamp: datetime
    commit_id: str
    fingerprint: str

    def comes_after(self, other: SeriesKey) -> bool:
        """True when this series is listed after `other` (commit newest first, fingerprint
        ascending)."""
        if self.commit_timestamp != other.commit_timestamp:
            return self.commit_timestamp < other.commit_timestamp
        if self.commit_id != other.commit_id:
            return self.commit_id < other.commit_id
        return self.fingerprint > other.fingerprint


@dataclass(frozen=True)
class Page:
    """The series of one page in order; `truncated` when a window bound may have left some out."""

    keys: list[SeriesKey]
    truncated: bool


def find_page(
    conn: psycopg.Connection,
    filters: SeriesFilter,
    *,
    page_size: int,
    cursor: SeriesKey | None,
) -> Page:
    """The keys of up to `page_size` series after `cursor` and whether a window bound cut the
    search short (02 §6 bounds)."""
    hardware_ids = None
    if filters.hardware is not None:
        rows = conn.execute(_Q["list_hardware_ids"], {"hardware": filters.hardware}).fetchall()
        hardware_ids = [row["id"] for row in rows]
        if not hardware_ids:
            return Page([], False)
    case_ids = None
    if filters.pattern is not None:
        params = {"pattern": filters.pattern, "limit": NARROW_CASES + 1}
        case_ids = [row["id"] for row in conn.execute(_Q["list_case_ids_matching"], params)]
        if not case_ids:
            return Page([], False)
    narrow = case_ids is not None and len(case_ids) <= NARROW_CASES
    if filters.fingerprint is not None or narrow:
        exact_cases = case_ids if narrow else None
        keys = _exact(conn, filters, hardware_ids, exact_cases, page_size=page_size, cursor=cursor)
        return Page(keys, False)
    if filters.pattern is not None:
        window = min(max(page_size * 32, 320), 512)
    elif hardware_ids is not None or cursor is not None:
        window = 512
    else:
        window = min(max(page_size * 3, 80), 160)
    return _walk(conn, filters, hardware_ids, window=window, page_size=page_size, cursor=cursor)


def _exact(
    conn: psycopg.Connection,
    filters: SeriesFilter,
    hardware_ids: list[str] | None,
    case_ids: list[str] | None,
    *,
    page_size: int,
    cursor: SeriesKey | None,
) -> list[SeriesKey]:
    params = {
        "fingerprint": filters.fingerprint,
        "case_ids": case_ids,
        "case_pattern": None if case_ids is not None else filters.pattern,
        "hardware_ids": hardware_ids,
        "since": filters.since,
        "until": filters.until,
        "repository": filters.repository,
        "cursor_ts": cursor.commit_timestamp if cursor else None,
        "cursor_commit": cursor.commit_id if cursor else None,
        "cursor_fingerprint": cursor.fingerprint if cursor else None,
        "limit": page_size,
    }
    rows = conn.execute(_Q["list_exact_series"], params, prepare=False).fetchall()
    return [
        SeriesKey(row["commit_timestamp"], row["commit_id"], row["history_fingerprint"])
        for row in rows
    ]


def _walk(
    conn: psycopg.Connection,
    filters: SeriesFilter,
    hardware_ids: list[str] | None,
    *,
    window: int,
    page_size: int,
    cursor: SeriesKey | None,
) -> Page:
    """Read the window's commits newest first, a growing batch at a time; the first batch reaches
    the cursor's commit, because every series seen up to there was on an earlier page."""
    if filters.repository is not None:
        repositories = [filters.repository]
    else:
        repositories = [
            row["repository"] for row in conn.execute(_Q["list_default_branch_repositories"])
        ]
    params = {"repositories": repositories, "until": filters.until, "limit": window + 1}
    commits = conn.execute(_Q["list_window_commits"], params).fetchall()
    beyond = len(commits) > window
    commits = commits[:window]
    batch = 1
    if cursor is not None:
        batch = max(1, sum(1 for c in commits if not _commit_after(c, cursor)))
    seen: set[str] = set()
    keys: list[SeriesKey] = []
    start = 0
    while start < len(commits) and len(keys) < page_size:
        chunk = commits[start : start + batch]
        by_commit = _fingerprints(conn, [c["id"] for c in chunk], filters, hardware_ids)
        for commit in chunk:
            for fingerprint in by_commit.get(commit["id"], ()):
                if fingerprint in seen:
                    continue
                seen.add(fingerprint)
                key = SeriesKey(commit["timestamp"], commit["id"], fingerprint)
                if cursor is None or key.comes_after(cursor):
                    keys.append(key)
        start += len(chunk)
        batch = min(batch * 2, MAX_BATCH_COMMITS)
    truncated = len(keys) < page_size and beyond
    return Page(keys[:page_size], truncated)


def _commit_after(commit: dict[str, Any], cursor: SeriesKey) -> bool:
    if commit["timestamp"] != cursor.commit_timestamp:
        return commit["timestamp"] < cursor.commit_timestamp
    return commit["id"] < cursor.commit_id


def _fingerprints(
    conn: psycopg.Connection,
    commit_ids: list[str],
    filters: SeriesFilter,
    hardware_ids: list[str] | None,
) -> dict[str, list[str]]:
    params = {
        "commit_ids": commit_ids,
        "hardware_ids": hardware_ids,
        "case_pattern": filters.pattern,
        "since": filters.since,
        "until": filters.until,
    }
    rows = conn.execute(_Q["list_commit_fingerprints"], params, prepare=False).fetchall()
    return {row["commit_id"]: row["fingerprints"] for row in rows}


def list_members(
    conn: psycopg.Connection, fingerprints: list[str], per_series: int = MEMBERS_PER_SERIES
) -> dict[str, list[dict[str, Any]]]:
    """The newest `per_series` members of each fingerprint, oldest first; every row carries the
    series' total `point_count`."""
    if not fingerprints:
        return {}
    params = {"fingerprints": fingerprints, "per_series": per_series}
    members: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in conn.execute(_Q["list_series_members"], params):
        members[row["history_fingerprint"]].append(row)
    return dict(members)
