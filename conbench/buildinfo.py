"""What the server reports about itself in /api/ping, gathered once at start."""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg

from conbench.db import connect

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildInfo:
    commit: str = "unknown"
    alembic_version: str | None = None
    schema_version: int | None = None


def source_commit() -> str:
    """The git commit of the checkout this package runs from, or "unknown" (installed wheel)."""
    checkout = Path(__file__).resolve().parent.parent
    if not (checkout / ".git").exists():
        return "unknown"
    try:
        out = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def read_build_info(db_url: str) -> BuildInfo:
    """Commit plus the schema versions; a database that cannot be read yet is only a warning."""
    from conbench.queries.meta import get_schema_state

    commit = source_commit()
    try:
        with connect(db_url, connect_timeout=5) as conn:
            state = get_schema_state(conn)
    except psycopg.Error as exc:
        log.warning("could not read the schema version at start: %s", type(exc).__name__)
        return BuildInfo(commit=commit)
    return BuildInfo(commit, state["alembic_version"], state["schema_version"])
