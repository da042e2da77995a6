"""What the batched database jobs (`conbench admin lookback`, `conbench admin history-cache`)
share: the `--older-than` check, the one-line database error and progress on a terminal."""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import psycopg

from conbench.cli import Env, load_settings, print_summary
from conbench.db import connect
from conbench.logs import scrub

PROGRESS_SECONDS = 2.0

Progress = Callable[[int, int, str], None]


def days_error(days: float | None) -> str | None:
    """The usage error of an `--older-than` value (None when it is fine or not given)."""
    if days is not None and (not math.isfinite(days) or days < 0):
        return "--older-than must be a number of days >= 0"
    return None


def database_error(job: str, exc: psycopg.Error) -> int:
    """Print `<job> error: database: <first line>` (credentials scrubbed) on stderr; exit code 1."""
    text = str(exc).strip()
    first = scrub(text.splitlines()[0]) if text else type(exc).__name__
    print(f"{job} error: database: {first}", file=sys.stderr)
    return 1


def progress(job: str, unit: str) -> Progress:
    """`<job>: done/total <unit>, <note>` on stderr every few seconds, when stderr is a terminal."""
    if not sys.stderr.isatty():
        return lambda done, total, note: None
    last = [time.monotonic()]

    def report(done: int, total: int, note: str) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_SECONDS or done == total:
            last[0] = now
            print(f"{job}: {done}/{total} {unit}, {note}", file=sys.stderr, flush=True)

    return report


def run_job(
    env: Env, args: argparse.Namespace, job: str, work: Callable[[psycopg.Connection], Any]
) -> int:
    """Connect to CONBENCH_DB_URL (autocommit) and run `work(conn)`: a summary dataclass is
    printed in `args.format` (exit 0), an int is the exit code; a database error is one line on
    stderr (exit 1)."""
    settings = load_settings(env)
    if settings is None or settings.db_url is None:
        return 1
    try:
        with connect(settings.db_url, application_name="conbench-admin", autocommit=True) as conn:
            outcome = work(conn)
    except psycopg.Error as exc:
        return database_error(job, exc)
    if isinstance(outcome, int):
        return outcome
    print_summary(asdict(outcome), args.format)
    return 0


def run_prune(
    env: Env, args: argparse.Namespace, job: str, unit: str, prune: Callable[..., Any]
) -> int:
    """The body of a `... prune --older-than DAYS` command: check the age, then `run_job` of
    `prune(conn, days, progress=...)`."""
    days = args.older_than
    if problem := days_error(days):
        print(f"usage error: {problem}", file=sys.stderr)
        return 2
    return run_job(env, args, job, lambda conn: prune(conn, days, progress=progress(job, unit)))
