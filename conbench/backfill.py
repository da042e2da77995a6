"""Durable default-branch backfill (05 §5): jobs live in `commit_backfill_job`, so a restart or a
killed process loses nothing.

Every server worker process runs one `BackfillWorker` thread (also `repair-commits --backfill`).
It claims one job at a time with FOR UPDATE SKIP LOCKED, a lease and a session advisory lock, so
a repository is walked by one worker at a time; a job whose lease expired, or whose worker's
database session ended, is claimed again. Nothing here runs on the request path.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import psycopg

from conbench.db import connect, session_options
from conbench.enrichment import commit_columns, repository_path, unsupported
from conbench.github import GitHubClient, GitHubError, client_for
from conbench.ids import new_id
from conbench.queries import backfill as queries

log = logging.getLogger(__name__)

POLL_SECONDS = 5.0
LEASE_SECONDS = 600.0
RETRY_SECONDS = 300.0
MAX_ATTEMPTS = 3
PAGE_SIZE = 100
INSERT_BATCH = 500
STOP_GRACE_SECONDS = 8.0  # inside gunicorn's 10 s graceful shutdown
EPOCH = datetime(1970, 1, 1)


class Stopped(Exception):
    """The worker is shutting down in the middle of a job."""


class BackfillWorker:
    """Claims and runs backfill jobs in a background thread until stopped.

    `alive` is polled between pages (gunicorn's `worker.alive`, false after SIGTERM);
    `repositories` limits the jobs it takes (repair-commits waits for its own).
    """

    def __init__(
        self,
        db_url: str,
        client: GitHubClient,
        *,
        poll_seconds: float = POLL_SECONDS,
        lease_seconds: float = LEASE_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
        repositories: Sequence[str] | None = None,
        alive: Callable[[], bool] = lambda: True,
    ) -> None:
        self.db_url = db_url
        self.client = client
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.retry_seconds = retry_seconds
        self.repositories = list(repositories) if repositories is not None else None
        self._alive = alive
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.current: str | None = None

    @property
    def stopping(self) -> bool:
        return self._stop.is_set() or not self._alive()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="conbench-backfill", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = STOP_GRACE_SECONDS) -> None:
        """Stop claiming, let the current GitHub call finish for up to `timeout` seconds, then
        hand an unfinished job back (pending, lease cleared)."""
        self._stop.set()
        if self._thread is None:
            return
        self._thread.join(timeout)
        job_id = self.current
        if job_id is None or not self._thread.is_alive():
            return
        try:
            with self._connect() as conn:
                queries.update_backfill_job_released(conn, job_id)
            log.info("backfill job %s handed back on shutdown", job_id)
        except psycopg.Error as exc:
            log.warning("could not hand back backfill job %s: %s", job_id, type(exc).__name__)

    def _connect(self) -> psycopg.Connection:
        return connect(
            self.db_url,
            application_name="conbench-backfill",
            autocommit=True,
            options=session_options(),
        )

    def _loop(self) -> None:
        conn: psycopg.Connection | None = None
        while not self.stopping:
            try:
                if conn is None or conn.closed:
                    conn = self._connect()
                if self.run_once(conn) is None:
                    self._stop.wait(self.poll_seconds)
            except psycopg.Error as exc:
                log.warning("backfill worker: database error (%s); retrying", type(exc).__name__)
                if conn is not None:
                    conn.close()
                conn = None
                self._stop.wait(self.poll_seconds)
            except Exception:
                log.exception("backfill worker: unexpected error; retrying")
                self._stop.wait(self.poll_seconds)
        if conn is not None:
            conn.close()

    def run_once(self, conn: psycopg.Connection) -> dict[str, Any] | None:
        """Claim one job and run it; returns the job row with its `status` afterwards, or None
        when there was nothing to claim. `conn` must be in autocommit mode."""
        job = queries.claim_backfill_job(conn, self.lease_seconds, self.repositories)
        if job is None:
            return None
        if not job["locked"]:  # a session that gave it up has not ended yet
            queries.update_backfill_job_released(conn, job["id"])
            return None
        self.current = job["id"]
        try:
            job["status"] = self._run(conn, job)
        except Stopped:
            queries.update_backfill_job_released(conn, job["id"])
            job["status"] = "pending"
            log.info("backfill of %s interrupted; job handed back", job["repository"])
        except psycopg.Error:
            raise  # the loop reconnects; the ended session frees the job
        except Exception as exc:
            reason = exc.message if isinstance(exc, GitHubError) else type(exc).__name__
            queries.update_backfill_job_failed(
                conn,
                job["id"],
                reason,
                max_attempts=MAX_ATTEMPTS,
                retry_seconds=self.retry_seconds,
            )
            job["status"] = "failed" if job["attempt_count"] >= MAX_ATTEMPTS else "pending"
            log.warning(
                "backfill of %s failed (attempt %d): %s",
                job["repository"],
                job["attempt_count"],
                reason,
            )
        finally:
            self.current = None
            if not conn.closed:
                queries.unlock_backfill_job(conn, job["id"])
        return job

    def _run(self, conn: psycopg.Connection, job: dict[str, Any]) -> str:
        """Fetch the branch's commits between the newest tracked one and `until_ts`, then
        insert them and finish the job in one transaction."""
        repository, label, until = job["repository"], job["default_branch"], job["until_ts"]
        path = repository_path(repository)
        if path is None:
            raise unsupported(repository)
        since = queries.get_backfill_since(conn, repository, label, until) or EPOCH
        params = {
            "per_page": PAGE_SIZE,
            "sha": label.split(":", 1)[-1],
            "since": _github_time(since),
            "until": _github_time(until),
        }
        rows: list[dict[str, Any]] = []
        pages = 0
        while True:
            if self.stopping:
                raise Stopped
            page = self.client.get(f"/repos/{path}/commits", {**params, "page": pages + 1})
            pages += 1
            if not isinstance(page, list):
                raise GitHubError("GitHub sent a malformed commits page", kind="malformed")
            rows.extend(_row(item, repository, label) for item in page)
            if not queries.update_backfill_lease(conn, job["id"], self.lease_seconds):
                return "lost"  # handed back meanwhile (shutdown): not ours to finish
            if len(page) < PAGE_SIZE:
                break
        rows = rows[1:-1]  # both bounds are inclusive: legacy parity (05 §5)
        inserted = 0
        with conn.transaction():
            for start in range(0, len(rows), INSERT_BATCH):
                inserted += queries.insert_backfill_commits(
                    conn, rows[start : start + INSERT_BATCH]
                )
            status = queries.update_backfill_job_done(conn, job["id"], until, inserted)
        log.info(
            "backfilled %s",
            repository,
            extra={"repository": repository, "pages": pages, "inserted": inserted},
        )
        return status or "lost"


def _row(item: Any, repository: str, label: str) -> dict[str, Any]:
    columns = commit_columns(item)
    return {
        **columns,
        "id": new_id(),
        "repository": repository,
        "branch": label,
        "fork_point_sha": columns["sha"],
    }


def _github_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


class ServerBackfill:
    """gunicorn hooks: one worker thread per server process, started after the fork and
    stopped (its job handed back if unfinished) when the process exits."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.worker: BackfillWorker | None = None

    def post_fork(self, server: Any, worker: Any) -> None:
        client = client_for(self.settings)
        if client is None:
            return
        self.worker = BackfillWorker(self.settings.db_url, client, alive=lambda: worker.alive)
        self.worker.start()

    def worker_exit(self, server: Any, worker: Any) -> None:
        if self.worker is not None:
            self.worker.stop()


def server_hooks(settings: Any) -> tuple[list[Callable], list[Callable]]:
    """(post_fork, worker_exit) hooks for `conbench serve`; none without GitHub credentials,
    when new commits are stored unknown (warned here) or, in development, synthesized."""
    if not settings.github_api_tokens and not settings.github_app_id:
        if not (settings.init_schema or settings.seed):
            log.warning(
                "no GitHub credentials: new commits are stored unknown until "
                "`conbench admin repair-commits` repairs them"
            )
        return [], []
    service = ServerBackfill(settings)
    return [service.post_fork], [service.worker_exit]
