"""Legacy Conbench databases for the migrator tests, built from the upstream pg_dump at Alembic
head 99895af5dae2 (read from ../shared/legacy beside the checkout, never copied into it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from conbench.schema_dump import LEGACY_HEAD, LEGACY_TABLES
from tests.conftest import create_database, drop_database

LEGACY_DUMP = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "legacy"
    / f"schema-alembic-{LEGACY_HEAD}.sql"
)

# spec 03 §3.6: the CHECKs a database bootstrapped by the Flask app's create_all has in addition.
CREATE_ALL_CHECKS = {
    "benchmark_result": ("mean", "min", "max", "median", "stdev", "q1", "q3", "iqr"),
    "hardware": (
        "cpu_l1d_cache_bytes",
        "cpu_l1i_cache_bytes",
        "cpu_l2_cache_bytes",
        "cpu_l3_cache_bytes",
        "cpu_core_count",
        "cpu_thread_count",
        "cpu_frequency_max_hz",
        "memory_bytes",
        "gpu_count",
    ),
}

FIXTURE_ROWS = """
INSERT INTO public."case" (id, name, tags) VALUES
    ('c1', 'file-read', '{"dataset": "nyctaxi", "format": "parquet"}'),
    ('c2', 'file-write', '{}');
INSERT INTO public.context (id, tags) VALUES ('x1', '{"arrow_compiler_id": "GNU"}');
INSERT INTO public.info (id, tags) VALUES ('i1', '{"arrow_version": "14.0.0"}'),
    ('i2', '{"arrow_version": "14.0.0"}');
INSERT INTO public.hardware (id, name, architecture_name, kernel_name, os_name, os_version,
    cpu_model_name, cpu_l1d_cache_bytes, cpu_l1i_cache_bytes, cpu_l2_cache_bytes,
    cpu_l3_cache_bytes, cpu_core_count, cpu_thread_count, cpu_frequency_max_hz, memory_bytes,
    gpu_count, gpu_product_names, type, info, optional_info, hash) VALUES
    ('h1', 'ursa-i9', 'x86_64', '5.4', 'Linux', '20.04', 'Intel i9', 32768, 32768, 1048576,
     14417920, 10, 20, 5000000000, 34359738368, 0, '{}', 'machine', NULL, NULL,
     'ursa-i9-0-10-20-34359738368'),
    ('h2', 'c1', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, 'cluster', '{"workers": 4}', '{}', 'c1-bb018ab84e04e12cd6e14b8b3ff9c548');
INSERT INTO public.commit (id, sha, parent, repository, message, author_name, author_login,
    author_avatar, "timestamp", branch, fork_point_sha) VALUES
    ('m1', 'aaa1', NULL, 'https://github.com/apache/arrow', 'first', 'Ann', 'ann', NULL,
     '2023-06-01 10:00:00', 'apache:main', 'aaa1'),
    ('m2', 'bbb2', 'aaa1', 'https://github.com/apache/arrow', 'second', 'Bob', NULL, NULL,
     '2023-06-02 10:00:00', 'apache:main', 'bbb2'),
    ('m3', 'ccc3', NULL, 'https://github.com/apache/arrow', '', '', NULL, NULL, NULL, NULL, NULL);
INSERT INTO public."user" (id, email, name, password) VALUES
    ('u1', 'ann@example.com', 'Ann', 'pbkdf2:sha256:260000$salt$hash');
INSERT INTO public.benchmark_result (id, case_id, context_id, run_id, unit, time_unit, batch_id,
    "timestamp", iterations, min, max, mean, median, stdev, q1, q3, iqr, info_id, error, data,
    times, validation, optional_benchmark_info, change_annotations, run_tags, run_reason,
    commit_id, hardware_id, commit_repo_url, history_fingerprint) VALUES
    ('0647a8280000700080001234567890ab', 'c1', 'x1', 'run-1', 's', 's', 'b1',
     '2023-06-03 00:00:00', 3, 1.0, 1.2, 1.1, 1.1, 0.1, 1.05, 1.15, 0.1, 'i1', NULL,
     '{1.0,1.1,1.2}', '{1.0,1.1,1.2}', NULL, '{"x": 1}', '{}', '{"name": "nightly"}', 'commit',
     'm2', 'h1', 'https://github.com/apache/arrow', '4f0b2a'),
    ('0c9a3f3d8f5e4e1f9d2b7a6c5e4d3c2b', 'c2', 'x1', 'run-2', NULL, NULL, NULL,
     '2023-05-01 00:00:00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'i2',
     '{"stack_trace": "boom"}', '{1.0,NULL}', '{}', NULL, NULL, '{}', '{}', NULL,
     NULL, 'h2', 'https://github.com/apache/arrow', '9e8d7c');
"""


def legacy_ddl() -> str:
    """The legacy dump without psql meta-commands and ownership; skips the test when absent."""
    if not LEGACY_DUMP.is_file():
        pytest.skip(f"legacy schema dump not found at {LEGACY_DUMP}")
    lines = LEGACY_DUMP.read_text(encoding="utf-8").splitlines()
    return "\n".join(
        line for line in lines if not line.startswith("\\") and " OWNER TO " not in line
    )


def build_legacy_database(
    url: str, *, revision: str | None = LEGACY_HEAD, create_all: bool = False, rows: bool = True
) -> None:
    """A legacy database: the Alembic variant stamped at `revision` (None leaves alembic_version
    empty), or the create_all variant of spec 03 §3.6 (its CHECKs, no alembic_version table)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(legacy_ddl().encode())
        if create_all:
            conn.execute("DROP TABLE public.alembic_version")
            for table, columns in CREATE_ALL_CHECKS.items():
                for column in columns:
                    conn.execute(
                        sql.SQL("ALTER TABLE public.{} ADD CONSTRAINT {} CHECK ({} >= 0)").format(
                            sql.Identifier(table),
                            sql.Identifier(f"{table}_{column}_check"),
                            sql.Identifier(column),
                        )
                    )
        elif revision is not None:
            conn.execute("INSERT INTO public.alembic_version VALUES (%s)", (revision,))
        if rows:
            conn.execute(FIXTURE_ROWS.encode())


def legacy_rows(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every legacy table, legacy columns only, in a stable order."""
    columns = {
        "benchmark_result": "id, case_id, context_id, run_id, unit, time_unit, batch_id, "
        '"timestamp", iterations, min, max, mean, median, stdev, q1, q3, iqr, info_id, error, '
        "data, times, validation, optional_benchmark_info, change_annotations, run_tags, "
        "run_reason, commit_id, hardware_id, commit_repo_url, history_fingerprint",
    }
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return {
            table: conn.execute(
                sql.SQL("SELECT {} FROM public.{} ORDER BY id").format(
                    sql.SQL(columns.get(table, "*")), sql.Identifier(table)
                )
            ).fetchall()
            for table in LEGACY_TABLES
        }


def execute(url: str, statement: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Run one statement in autocommit and return its rows (none for a command)."""
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        cur = conn.execute(statement.encode(), params or None)
        return cur.fetchall() if cur.description else []


@contextmanager
def another_database(admin_url: str) -> Iterator[str]:
    """A second empty database, for tests that compare two."""
    name = f"cbt_legacy_{uuid.uuid4().hex[:12]}"
    url = create_database(admin_url, name)
    try:
        yield url
    finally:
        drop_database(admin_url, name)
