"""A live `conbench serve` per test module, and the environment the upstream clients read.

The clients (benchclients, benchadapt, benchconnect, benchalerts) are the pinned PyPI releases;
they configure themselves from `CONBENCH_*` variables, so each test gets a clean set of them.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator

import psycopg
import pytest
from benchclients import ConbenchClient

from conbench.db import connect
from tests import factories, procs
from tests.conftest import create_database, drop_database

SESSION_SECRET = "clients-test-session-secret-0123456789"

CLIENT_VARIABLES = (
    "CONBENCH_URL",
    "CONBENCH_EMAIL",
    "CONBENCH_PASSWORD",
    "CONBENCH_PROJECT_REPOSITORY",
    "CONBENCH_PROJECT_COMMIT",
    "CONBENCH_PROJECT_PR_NUMBER",
    "BENCHMARKABLE_PR_NUMBER",
    "CONBENCH_MACHINE_INFO_NAME",
)


@pytest.fixture(scope="module")
def live_db_url(
    request: pytest.FixtureRequest, pg_admin_url: str, template_db_name: str
) -> Iterator[str]:
    """A migrated database for this module's server, named after the module."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"cbt_{worker}_clients_{request.module.__name__.rsplit('.', 1)[-1]}"
    yield create_database(pg_admin_url, name, template=template_db_name)
    drop_database(pg_admin_url, name)


@pytest.fixture(scope="module")
def live_server(
    live_db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[procs.ServerProcess]:
    """`conbench serve` with two workers, writes open to anyone (CONBENCH_AUTH_DISABLED)."""
    env = procs.base_env(
        CONBENCH_DB_URL=live_db_url,
        CONBENCH_AUTH_DISABLED="true",
        CONBENCH_SESSION_SECRET=SESSION_SECRET,
    )
    server = procs.start(["serve", "--workers", "2"], env, tmp_path_factory.mktemp("serve") / "log")
    yield server
    server.stop()


@pytest.fixture
def client_env(
    live_server: procs.ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> procs.ServerProcess:
    """Point the clients at the live server, anonymously, with no commit or host overrides.

    ConbenchClient retries every 5xx for 30 minutes; a few seconds turn a server bug into a
    failing test instead of a hung one."""
    for name in CLIENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CONBENCH_URL", live_server.base_url)
    monkeypatch.setattr(ConbenchClient, "default_retry_for_seconds", 5)
    return live_server


@pytest.fixture
def server_db(live_db_url: str) -> Iterator[psycopg.Connection]:
    """A connection to the live server's database; what a test writes is committed at once."""
    with connect(live_db_url, autocommit=True) as conn:
        yield conn


def make_api_token(conn: psycopg.Connection, email: str) -> str:
    """A new user with one API token; returns the token, of which only the SHA-256 is stored."""
    user = factories.make_user(conn, email=email)
    token = "cbt_" + secrets.token_urlsafe(24)
    conn.execute(
        "INSERT INTO api_token (id, user_id, name, token_hash, token_prefix, created_at)"
        " VALUES (%s, %s, 'ci', %s, %s, now() AT TIME ZONE 'UTC')",
        (secrets.token_hex(16), user["id"], hashlib.sha256(token.encode()).hexdigest(), token[:8]),
    )
    return token


def new_run_id() -> str:
    """A run id shaped like benchadapt's (uuid4 hex), new on every call."""
    return secrets.token_hex(16)
