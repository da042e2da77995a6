"""`conbench admin repair-commits` (05 §6): fill unknown commit rows in place from GitHub.

No result is touched: a repaired row makes the results that point at it appear in history, series
and baselines. Reads CONBENCH_DB_URL (never DATABASE_URL) and the GitHub credentials; prints the
summary on stdout and diagnostics on stderr, never a token or the database URL. Exit 0 when the
run completed, 1 on an all-auth/quota run, a backfill that did not drain, or a database error,
2 on usage errors.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from conbench.backfill import BackfillWorker
from conbench.cli import Env, UsageError, load_settings
from conbench.db import connect
from conbench.enrichment import Enricher, normalize_repository, repository_path
from conbench.envvalues import parse_duration
from conbench.github import GitHubClient, GitHubError, client_for
from conbench.ingest import CommitRef
from conbench.logs import scrub
from conbench.queries import backfill as queries

MAX_LIMIT = 2**31 - 1
FAILURE_SAMPLES = 10
INCOMPLETE = "enrichment returned incomplete commit metadata"
PROGRESS_SECONDS = 2.0
DRAIN_POLL_SECONDS = 0.2
COUNTERS = (
    "scanned", "repaired", "would_repair", "unsupported_repository", "failed",
    "auth_or_quota_failures", "already_repaired", "backfill_enqueued", "would_backfill",
)  # fmt: skip


@dataclass(frozen=True)
class Options:
    repository: str | None
    limit: int
    cursor: tuple[str, str] | None
    dry_run: bool
    backfill: bool
    backfill_timeout: float
    github_timeout: float
    format: str


@dataclass
class Summary:
    """The counters of 05 §6, plus the backfill jobs this run enqueued."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    backfill_timed_out: bool = False
    next_cursor: str | None = None
    failures: list[dict[str, str]] = field(default_factory=list)
    jobs: dict[str, str] = field(default_factory=dict)  # repository -> open job id

    def fail(self, row: dict[str, Any], error: str, auth_or_quota: bool) -> None:
        self.counts["failed"] += 1
        self.counts["auth_or_quota_failures"] += auth_or_quota
        if len(self.failures) < FAILURE_SAMPLES:
            self.failures.append(
                {"repository": row["repository"], "sha": row["sha"], "error": error}
            )
        print(f"warning: {row['repository']} {row['sha']}: {error}", file=sys.stderr)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {**self.counts, "backfill_timed_out": self.backfill_timed_out}
        out["next_cursor"] = self.next_cursor
        if self.failures:
            out["failures"] = self.failures
        return out

    def as_text(self) -> str:
        parts = [f"{key}={value}" for key, value in self.counts.items()]
        parts.append(f"backfill_timed_out={'true' if self.backfill_timed_out else 'false'}")
        if self.next_cursor:
            parts.append(f"next_cursor={self.next_cursor}")
        return " ".join(parts)

    @property
    def all_auth_or_quota(self) -> bool:
        """Every GitHub attempt of the run failed for authentication or quota."""
        attempts = self.counts["scanned"] - self.counts["unsupported_repository"]
        return attempts > 0 and self.counts["auth_or_quota_failures"] == attempts


def encode_cursor(repository: str, sha: str) -> str:
    """The opaque cursor: unpadded base64url of {"repository", "sha"}."""
    doc = json.dumps({"repository": repository, "sha": sha}, separators=(",", ":"))
    return base64.urlsafe_b64encode(doc.encode()).rstrip(b"=").decode()


def decode_cursor(text: str) -> tuple[str, str]:
    """(repository, sha) of a cursor; UsageError "invalid --cursor: ..." when malformed."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        doc = json.loads(raw)
    except (binascii.Error, ValueError):
        raise UsageError("invalid --cursor: not base64url-encoded JSON") from None
    if not isinstance(doc, dict) or set(doc) != {"repository", "sha"}:
        raise UsageError('invalid --cursor: expected {"repository", "sha"}')
    if not all(isinstance(doc[k], str) and doc[k] for k in ("repository", "sha")):
        raise UsageError("invalid --cursor: repository and sha must be non-empty strings")
    return doc["repository"], doc["sha"]


def cmd_admin_repair_commits(env: Env, args: argparse.Namespace) -> int:
    try:
        options = parse_options(args)
    except UsageError as exc:
        print(f"usage error: {exc}", file=sys.stderr)
        return 2
    settings = load_settings(env, db_fallback=False)
    if settings is None or settings.db_url is None:
        return 1
    client = client_for(settings)
    if client is None:
        print("repair-commits: GitHub credentials are required", file=sys.stderr)
        return 1
    try:
        summary = run(settings.db_url, client, options)
    except psycopg.Error as exc:
        text = str(exc).strip()
        first = scrub(text.splitlines()[0]) if text else type(exc).__name__
        print(f"repair-commits error: database: {first}", file=sys.stderr)
        return 1
    if options.format == "json":
        print(json.dumps(summary.as_dict()), flush=True)
    else:
        print(summary.as_text(), flush=True)
    if summary.backfill_timed_out:
        print("repair-commits: backfill did not drain in time", file=sys.stderr)
        return 1
    if summary.all_auth_or_quota:
        print("repair-commits: GitHub authentication or quota failure", file=sys.stderr)
        return 1
    return 0


def parse_options(args: argparse.Namespace) -> Options:
    """The flags checked as 05 §6 words them; UsageError for the first one broken."""
    if not 0 < args.limit < MAX_LIMIT:
        raise UsageError(
            "--limit must be greater than 0"
            if args.limit <= 0
            else f"--limit must be < {MAX_LIMIT}"
        )
    repository = normalize_repository(args.repository) if args.repository is not None else None
    cursor = decode_cursor(args.cursor) if args.cursor is not None else None
    if cursor and repository is not None and cursor[0] != repository:
        raise UsageError("invalid --cursor: it belongs to another --repository")
    return Options(
        repository=repository,
        limit=args.limit,
        cursor=cursor,
        dry_run=args.dry_run,
        backfill=args.backfill,
        backfill_timeout=_duration("--backfill-timeout", args.backfill_timeout),
        github_timeout=_duration("--github-timeout", args.github_timeout),
        format=args.format,
    )


def _duration(flag: str, text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError:
        raise UsageError(f"{flag} must be a duration such as 30s or 2m, got {text!r}") from None
    if seconds <= 0:
        raise UsageError(f"{flag} must be greater than 0")
    return seconds


def run(db_url: str, client: GitHubClient, options: Options) -> Summary:
    """Repair one page of unknown rows; with --backfill, then wait for the enqueued jobs."""
    with connect(db_url, application_name="conbench-repair", autocommit=True) as conn:
        summary = repair(conn, Enricher(client), options, _progress())
    if summary.jobs:
        summary.backfill_timed_out = not drain(db_url, client, summary.jobs, options)
    return summary


def repair(
    conn: psycopg.Connection,
    enricher: Enricher,
    options: Options,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> Summary:
    """Inspect up to `limit` unknown rows after the cursor and repair (or, dry, count) them."""
    rows = queries.list_unknown_commits(
        conn, limit=options.limit + 1, repository=options.repository, after=options.cursor
    )
    summary = Summary()
    if len(rows) > options.limit:
        rows = rows[: options.limit]
        summary.next_cursor = encode_cursor(rows[-1]["repository"], rows[-1]["sha"])
    counts = summary.counts
    for done, row in enumerate(rows, 1):
        progress(done, len(rows))
        counts["scanned"] += 1
        if repository_path(row["repository"]) is None:
            counts["unsupported_repository"] += 1
            continue
        deadline = enricher.client.deadline(options.github_timeout)
        try:
            new = enricher.enrich(CommitRef(row["repository"], row["sha"]), deadline)
        except GitHubError as exc:
            summary.fail(row, exc.message, exc.auth_or_quota)
            continue
        except Exception as exc:  # a bug must not hide the rest of the page's results
            summary.fail(row, f"unexpected {type(exc).__name__}", False)
            continue
        if new.timestamp is None or new.fork_point_sha is None:
            summary.fail(row, INCOMPLETE, False)
            continue
        on_default = new.fork_point_sha == row["sha"]
        if options.dry_run:
            counts["would_repair"] += 1
            counts["would_backfill"] += on_default
            continue
        with conn.transaction():
            if not queries.update_repaired_commit(conn, row["id"], new.columns()):
                counts["already_repaired"] += 1
                continue
            counts["repaired"] += 1
            if on_default and options.backfill and new.backfill_branch:
                job = (row["repository"], new.backfill_branch, new.timestamp)
                summary.jobs.update(queries.upsert_backfill_jobs(conn, [job]))
                counts["backfill_enqueued"] += 1
            elif on_default:
                counts["would_backfill"] += 1
    return summary


def drain(db_url: str, client: GitHubClient, jobs: dict[str, str], options: Options) -> bool:
    """Run the enqueued jobs here (a server's worker may take some) until none is open or the
    timeout passes; True when they all finished. Failed jobs are reported on stderr."""
    worker = BackfillWorker(
        db_url, client, poll_seconds=DRAIN_POLL_SECONDS, repositories=sorted(jobs)
    )
    worker.start()
    deadline = time.monotonic() + options.backfill_timeout
    try:
        with connect(db_url, application_name="conbench-repair", autocommit=True) as conn:
            while True:
                rows = queries.list_backfill_jobs(conn, list(jobs.values()))
                if all(row["status"] in ("done", "failed") for row in rows):
                    break
                if time.monotonic() >= deadline:
                    return False
                time.sleep(DRAIN_POLL_SECONDS)
    finally:
        worker.stop(timeout=1.0)
    for row in rows:
        if row["status"] == "failed":
            print(f"warning: backfill of {row['repository']} failed: {row['last_error']}",
                  file=sys.stderr)  # fmt: skip
    return True


def _progress() -> Callable[[int, int], None]:
    """Progress lines on stderr every few seconds, when stderr is a terminal."""
    if not sys.stderr.isatty():
        return lambda done, total: None
    last = [time.monotonic()]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_SECONDS or done == total:
            last[0] = now
            print(f"repair-commits: {done}/{total} inspected", file=sys.stderr, flush=True)

    return report
