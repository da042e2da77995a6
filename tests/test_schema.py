"""sql/schema.sql, the legacy schema of spec 03 §3, and the normalized schema text."""

from __future__ import annotations

import difflib
import os

import pytest

from conbench.db import connect
from conbench.migrate import SCHEMA_FILE, revert_migrations, run_migrations, write_schema_file
from conbench.schema_dump import LEGACY_TABLES, dump_schema, schema_file_text
from tests.legacy_db import another_database, build_legacy_database, execute

LEGACY_TABLES_AND_ALEMBIC = (*LEGACY_TABLES, "alembic_version")
REGENERATE = "CONBENCH_REGENERATE_SCHEMA=1 .venv/bin/pytest tests/test_schema.py -k schema_file"


def dump(url: str, tables: tuple[str, ...] | None = None) -> str:
    with connect(url) as conn:
        return dump_schema(conn, tables)


def test_schema_file_matches_a_freshly_migrated_database(empty_db_url: str) -> None:
    if os.environ.get("CONBENCH_REGENERATE_SCHEMA") == "1":
        write_schema_file(empty_db_url)
    else:
        run_migrations(empty_db_url)
    with connect(empty_db_url) as conn:
        actual = schema_file_text(conn)
    expected = SCHEMA_FILE.read_text(encoding="utf-8")
    if actual != expected:
        diff = difflib.unified_diff(
            expected.splitlines(True), actual.splitlines(True), "sql/schema.sql", "migrated"
        )
        pytest.fail(
            f"sql/schema.sql differs from a freshly migrated database:\n{''.join(diff)}\n"
            f"If the migrations are right, regenerate the file with:\n    {REGENERATE}"
        )


def test_fresh_legacy_tables_equal_the_legacy_dump(empty_db_url: str, pg_admin_url: str) -> None:
    run_migrations(empty_db_url)
    revert_migrations(empty_db_url, to_version=1)
    with another_database(pg_admin_url) as legacy_url:
        build_legacy_database(legacy_url, rows=False)
        assert dump(empty_db_url, LEGACY_TABLES_AND_ALEMBIC) == dump(
            legacy_url, LEGACY_TABLES_AND_ALEMBIC
        )


def test_adopted_legacy_dump_has_exactly_the_fresh_schema(
    empty_db_url: str, pg_admin_url: str
) -> None:
    run_migrations(empty_db_url)
    with another_database(pg_admin_url) as legacy_url:
        build_legacy_database(legacy_url)
        run_migrations(legacy_url)
        assert dump(legacy_url) == dump(empty_db_url)


def test_fresh_database_is_stamped_at_the_legacy_alembic_head(empty_db_url: str) -> None:
    run_migrations(empty_db_url)
    assert execute(empty_db_url, "SELECT version_num FROM alembic_version") == [
        {"version_num": "99895af5dae2"}
    ]


def test_legacy_tables_have_no_server_defaults(empty_db_url: str) -> None:
    run_migrations(empty_db_url)
    assert " DEFAULT " not in dump(empty_db_url, LEGACY_TABLES_AND_ALEMBIC)


def test_dump_marks_an_invalid_index(empty_db_url: str) -> None:
    run_migrations(empty_db_url)
    execute(
        empty_db_url,
        "UPDATE pg_index SET indisvalid = false"
        " WHERE indexrelid = 'commit_default_branch_repo_ts_index'::regclass",
    )
    assert "(fork_point_sha)::text); -- INVALID" in dump(empty_db_url, ("commit",))


def test_dump_does_not_depend_on_the_search_path(empty_db_url: str) -> None:
    run_migrations(empty_db_url)
    with connect(empty_db_url) as conn:
        default = dump_schema(conn)
        conn.execute("SET search_path = pg_catalog, public")
        assert dump_schema(conn) == default
        assert conn.execute("SHOW search_path").fetchone() == {"search_path": "pg_catalog, public"}
