"""Test harness: a real PostgreSQL, a template database built by the real migrator, and
one rolled-back transaction per test.

The server is the embedded one (started once per pytest process), or the one at
CONBENCH_TEST_DB_URL. Databases are named per xdist worker so parallel workers never meet.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from conbench.db import SingleConnectionDatabase, connect

_counter = itertools.count()


@pytest.fixture(autouse=True)
def _no_dimension_ids_from_other_tests() -> None:
    """Tests roll their rows back: ids a process cached in one test are gone in the next."""
    from conbench.ingest_cache import DIMENSIONS

    DIMENSIONS.clear()


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def db_url(server_url: str, dbname: str) -> str:
    """The URL of database `dbname` on the server of `server_url`."""
    return urlsplit(server_url)._replace(path=f"/{dbname}").geturl()


def create_database(server_url: str, name: str, template: str | None = None) -> str:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            stmt += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        conn.execute(stmt)
    return db_url(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """A PostgreSQL server on which tests may create and drop databases."""
    external = os.environ.get("CONBENCH_TEST_DB_URL")
    if external:
        yield external
        return
    from conbench.embedded_pg import EmbeddedPostgres

    # Not under pytest's tmp_path: a concurrent pytest run rotates those directories away.
    data_dir = Path(tempfile.mkdtemp(prefix="conbench-test-pg-"))
    pg = EmbeddedPostgres(data_dir)
    server, _ = pg.start()
    try:
        yield server.url()
    finally:
        pg.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def template_db_name(pg_admin_url: str) -> Iterator[str]:
    """A database migrated by the real migrator; never connected to, so it can be cloned."""
    from conbench.migrate import run_migrations

    name = f"cbt_{_worker()}_template"
    url = create_database(pg_admin_url, name)
    run_migrations(url)
    _disable_autovacuum(url)
    yield name
    drop_database(pg_admin_url, name)


def _disable_autovacuum(url: str) -> None:
    """Autovacuum's ANALYZE rewrites table statistics in place, even while a test's uncommitted
    rows and its own ANALYZE are what the query-plan tests rely on; the clones inherit this."""
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables"
            " WHERE schemaname = 'public'"
        ).fetchall()
        for (table,) in tables:
            conn.execute(
                sql.SQL("ALTER TABLE {} SET (autovacuum_enabled = false)").format(sql.SQL(table))
            )


@pytest.fixture(scope="session")
def work_db_url(pg_admin_url: str, template_db_name: str) -> Iterator[str]:
    """A clone of the template that the rolled-back per-test transactions run in."""
    name = f"cbt_{_worker()}_work"
    yield create_database(pg_admin_url, name, template=template_db_name)
    drop_database(pg_admin_url, name)


@pytest.fixture
def conn(work_db_url: str) -> Iterator[psycopg.Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with connect(work_db_url, application_name="conbench-test") as connection:
        connection.execute("SET TimeZone = 'UTC'")
        try:
            yield connection
        finally:
            connection.rollback()


@pytest.fixture
def db(conn: psycopg.Connection) -> SingleConnectionDatabase:
    """The app's Database interface over the test's rolled-back connection."""
    return SingleConnectionDatabase(conn)


@pytest.fixture
def fresh_db_url(pg_admin_url: str, template_db_name: str) -> Iterator[str]:
    """A migrated database of this test's own, for commits and second processes."""
    name = f"cbt_{_worker()}_{next(_counter)}"
    yield create_database(pg_admin_url, name, template=template_db_name)
    drop_database(pg_admin_url, name)


@pytest.fixture
def empty_db_url(pg_admin_url: str) -> Iterator[str]:
    """A brand-new database with no tables, for migrator tests."""
    name = f"cbt_{_worker()}_empty_{next(_counter)}"
    yield create_database(pg_admin_url, name)
    drop_database(pg_admin_url, name)


@pytest.fixture
def settings(work_db_url: str):  # type: ignore[no-untyped-def]
    """Settings as a minimal deployment has them."""
    from conbench.config import Settings

    return Settings.from_env({"CONBENCH_DB_URL": work_db_url})


@pytest.fixture
def client(settings, db: SingleConnectionDatabase):  # type: ignore[no-untyped-def]
    """An in-process client of the app, running inside the test's rolled-back transaction."""
    from falcon import testing

    from conbench.app import create_app

    return testing.TestClient(create_app(settings, db))
