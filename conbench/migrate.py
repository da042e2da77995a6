"""The migrator behind `conbench migrate`: finds out what a database holds (spec 03 §4), adopts
legacy and Go-era databases in place, and applies the numbered files of sql/migrations.

The files and their directives are read by `conbench.migration_files`; `--check` reruns each
applied version's verify query.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, LiteralString, cast

import psycopg
from psycopg import sql

from conbench.db import connect
from conbench.migration_files import (
    CONCURRENT_INDEX,
    Migration,
    MigrationError,
    Script,
    available_migrations,
    code_only,
)
from conbench.paths import SQL_DIR
from conbench.schema_dump import (
    GO_ALEMBIC_REVISIONS,
    LEGACY_HEAD,
    LEGACY_REVISIONS,
    Found,
    dump_schema,
    inspect_database,
    schema_file_text,
    verify_legacy_shape,
)

__all__ = [
    "Migration",
    "MigrationError",
    "MigrationResult",
    "available_migrations",
    "check_database",
    "dump_schema",
    "revert_migrations",
    "run_migrations",
    "schema_file_text",
    "write_schema_file",
]

# "conbench" in ASCII: the Go design's key too, so the two migrators never run at once.
LOCK_KEY = 0x636F6E62656E6368
SCHEMA_FILE = SQL_DIR / "schema.sql"
APPLICATION_NAME = "conbench-migrate"


@dataclass(frozen=True)
class MigrationResult:
    """What was found, which versions were recorded now (adopted or run), the version after."""

    state: str
    applied: list[int]
    version: int


def run_migrations(
    url: str,
    *,
    adopt_unversioned: bool = False,
    progress: Callable[[str], None] = lambda msg: None,
) -> MigrationResult:
    """Bring the database to the newest version, under the migration advisory lock; refuses
    (MigrationError) whatever spec 03 §4 says to refuse, before changing anything."""
    migrations = available_migrations()
    with _connection(url) as conn:
        _lock(conn, progress)
        found = inspect_database(conn)
        errors = _refusals(conn, found, migrations, adopt_unversioned)
        if errors:
            raise MigrationError("; ".join(errors))
        if found.state in ("legacy-alembic", "unversioned"):
            revision = found.revisions[0] if found.revisions else "none"
            progress(f"adopting the legacy database in place (Alembic revision {revision})")
        applied: list[int] = []
        with conn.transaction():
            _ensure_ledger(conn)
            if found.state == "go-ledger":
                applied += _copy_go_ledger(conn, found, migrations, progress)
        done = set(found.ledger) | set(applied)
        for migration in migrations:
            if migration.version not in done:
                _apply(conn, migration, progress)
                applied.append(migration.version)
        version = _ledger_version(conn)
    return MigrationResult(state=found.state, applied=applied, version=version)


def revert_migrations(
    url: str, *, to_version: int, progress: Callable[[str], None] = lambda msg: None
) -> list[int]:
    """Run the down files of the recorded versions above `to_version`, newest first; returns
    the versions reverted. Down files drop only product objects, never legacy ones."""
    migrations = available_migrations()
    with _connection(url) as conn:
        _lock(conn, progress)
        found = inspect_database(conn)
        errors = _refusals(conn, found, migrations, adopt_unversioned=False)
        if found.state != "ledger" and not errors:
            errors.append(f"nothing to revert: the database has no ledger ({found.state})")
        if errors:
            raise MigrationError("; ".join(errors))
        reverted = []
        for migration in reversed(migrations):
            if migration.version > to_version and migration.version in found.ledger:
                progress(f"reverting {migration.label}")
                delete = sql.SQL("DELETE FROM public.conbench_schema_migration WHERE version = {}")
                _run(conn, migration, migration.down, delete.format(migration.version))
                reverted.append(migration.version)
    return reverted


def check_database(url: str, *, adopt_unversioned: bool = False) -> dict[str, Any]:
    """The read-only report of `conbench migrate --check`: what was found, what `migrate` would
    refuse (errors), what deserves a look (warnings) and which versions are pending."""
    migrations = available_migrations()
    with _connection(url, autocommit=False) as conn:
        conn.read_only = True
        found = inspect_database(conn)
        errors = _refusals(conn, found, migrations, adopt_unversioned)
        shape = verify_legacy_shape(conn, found) if found.has_legacy_tables else None
        warnings = shape.warnings if shape else []
        if found.state == "ledger":
            errors += shape.errors if shape else []
            for migration in migrations:
                if migration.version in found.ledger:
                    errors += [f"{migration.label}: {p}" for p in _problems(conn, migration)]
            if not found.ledger_has_checksum:
                warnings.append("the ledger has no checksum column yet; conbench migrate adds it")
        pending = [m.version for m in migrations if m.version not in found.recorded_versions]
        conn.rollback()
    return {
        "ok": not errors,
        "state": found.state,
        "version": max(found.recorded_versions, default=0),
        "errors": errors,
        "warnings": warnings,
        "pending": pending,
    }


def write_schema_file(url: str, path: Path | None = None) -> None:
    """Migrate the empty database at `url` and write its normalized schema to sql/schema.sql."""
    with _connection(url) as conn:
        state = inspect_database(conn).state
    if state != "fresh":
        raise MigrationError(f"write_schema_file needs an empty database; this one is {state}")
    run_migrations(url)
    with _connection(url) as conn:
        (path or SCHEMA_FILE).write_text(schema_file_text(conn), encoding="utf-8")


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


@contextmanager
def _connection(url: str, *, autocommit: bool = True) -> Iterator[psycopg.Connection[Any]]:
    try:
        conn = connect(url, application_name=APPLICATION_NAME, autocommit=autocommit)
    except psycopg.OperationalError as exc:
        raise MigrationError(f"cannot connect to the database: {_first_line(exc)}") from exc
    with conn:
        conn.execute("SET client_min_messages = warning")
        if not autocommit:
            conn.commit()
        yield conn


def _lock(conn: psycopg.Connection[Any], progress: Callable[[str], None]) -> None:
    """Take the migration lock for the session, polling rather than blocking: a session blocked
    in pg_advisory_lock() keeps a snapshot open, which a CREATE INDEX CONCURRENTLY run by the
    lock holder would wait for - a deadlock."""
    waiting = False
    while not conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (LOCK_KEY,)).fetchone()["ok"]:
        if not waiting:
            progress("waiting for another migrator to finish")
            waiting = True
        time.sleep(0.1)


def _refusals(
    conn: psycopg.Connection[Any],
    found: Found,
    migrations: list[Migration],
    adopt_unversioned: bool,
) -> list[str]:
    """Why `run_migrations` must not touch this database (spec 03 §4); empty when it may."""
    latest = migrations[-1].version
    newest = max(found.recorded_versions, default=0)
    if newest > latest:
        return [f"database schema version {newest} is newer than this binary ({latest})"]
    if found.state == "ledger":
        return [
            f"migration {m.label} was changed after it was applied (checksum "
            f"{(found.ledger[m.version].checksum or '')[:12]} in the database, "
            f"{m.checksum[:12]} on disk): "
            "restore the file and put the change in a new migration"
            for m in migrations
            if _checksum_differs(found, m)
        ]
    if found.state == "go-ledger" and found.go_dirty:
        return [
            f"the Go-era ledger schema_migrations is dirty at version {found.go_version}: a "
            "migration failed half-way; repair the schema and clear the dirty flag first"
        ]
    if found.state == "legacy-alembic":
        if len(found.revisions) > 1:
            return [f"alembic_version holds several revisions: {', '.join(found.revisions)}"]
        revision = found.revisions[0]
        if revision in LEGACY_REVISIONS:
            return [
                f"legacy database at Alembic revision {revision}: upgrade it with the legacy "
                f"Alembic migrations to {LEGACY_HEAD} first"
            ]
        if revision != LEGACY_HEAD and revision not in GO_ALEMBIC_REVISIONS:
            return [f"unknown Alembic revision {revision}"]
    if found.state == "unversioned" and not adopt_unversioned:
        return [
            "the database has tables but neither a migration ledger nor an Alembic revision; "
            "if it is a legacy Conbench database (create_all), adopt it with --adopt-unversioned"
        ]
    if found.state in ("legacy-alembic", "unversioned", "go-ledger"):
        shape = verify_legacy_shape(conn, found)
        if shape.errors:
            return [f"the database cannot be adopted: {'; '.join(shape.errors)}"]
    return []


def _checksum_differs(found: Found, migration: Migration) -> bool:
    """NULL checksums belong to rows copied from a Go-era ledger: another implementation's
    files were applied there, so there is nothing of ours to compare with."""
    row = found.ledger.get(migration.version)
    return row is not None and row.checksum is not None and row.checksum != migration.checksum


def _ensure_ledger(conn: psycopg.Connection[Any]) -> None:
    conn.execute(
        """
        CREATE TABLE IF NOT EXISTS public.conbench_schema_migration (
            version bigint NOT NULL,
            name text NOT NULL,
            applied_at timestamp with time zone DEFAULT now() NOT NULL,
            checksum text,
            CONSTRAINT conbench_schema_migration_pkey PRIMARY KEY (version)
        )
        """
    )
    conn.execute(
        "ALTER TABLE public.conbench_schema_migration ADD COLUMN IF NOT EXISTS checksum text"
    )


def _copy_go_ledger(
    conn: psycopg.Connection[Any],
    found: Found,
    migrations: list[Migration],
    progress: Callable[[str], None],
) -> list[int]:
    """Record the Go-era versions 1..v (the Go design numbers them as we do), then rerun our
    idempotent baseline: it adds the product CHECKs the Go design's baseline lacked."""
    copied = [m for m in migrations if m.version <= (found.go_version or 0)]
    progress(f"copying versions 1..{found.go_version} from the Go-era ledger schema_migrations")
    for migration in copied:
        _record(conn, migration, checksum=None)
    _execute(conn, migrations[0].label, migrations[0].up.statements, progress)
    for migration in copied:
        problems = _problems(conn, migration)
        if problems:
            raise MigrationError(f"Go-era version {migration.label}: {'; '.join(problems)}")
    return [m.version for m in copied]


def _apply(
    conn: psycopg.Connection[Any], migration: Migration, progress: Callable[[str], None]
) -> None:
    progress(f"applying {migration.label}")
    _run(conn, migration, migration.up, None, progress)


def _run(
    conn: psycopg.Connection[Any],
    migration: Migration,
    script: Script,
    finish: sql.Composable | None,
    progress: Callable[[str], None] = lambda msg: None,
) -> None:
    """Run a script in one transaction (or statement by statement when it must not run in
    one), then verify and record - or `finish` - in a transaction of its own."""
    with conn.transaction() if script.transactional else nullcontext():
        _execute(conn, migration.label, script.statements, progress)
        with conn.transaction():
            if script is migration.up:
                problems = _problems(conn, migration)
                if problems:
                    raise MigrationError(f"{migration.label} did not verify: {'; '.join(problems)}")
                _record(conn, migration, checksum=migration.checksum)
            if finish is not None:
                conn.execute(finish)


def _execute(
    conn: psycopg.Connection[Any],
    label: str,
    statements: tuple[str, ...],
    progress: Callable[[str], None],
) -> None:
    for statement in statements:
        match = CONCURRENT_INDEX.match(code_only(statement))
        if match:
            _drop_invalid_index(conn, match.group(1), progress)
        try:
            # Trusted text: the package's own migration files.
            conn.execute(cast(LiteralString, statement))
        except psycopg.Error as exc:
            first_line = code_only(statement).splitlines()[0]
            raise MigrationError(f"{label} failed at `{first_line}`: {_first_line(exc)}") from exc


def _drop_invalid_index(
    conn: psycopg.Connection[Any], name: str, progress: Callable[[str], None]
) -> None:
    """An interrupted CREATE INDEX CONCURRENTLY leaves an INVALID index behind, which IF NOT
    EXISTS would then accept: drop it so the build starts over."""
    row = conn.execute(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)",
        (f"public.{name}",),
    ).fetchone()
    if row is not None and not row["indisvalid"]:
        progress(f"dropping the invalid index {name} left by an interrupted build")
        conn.execute(sql.SQL("DROP INDEX CONCURRENTLY public.{}").format(sql.Identifier(name)))


def _problems(conn: psycopg.Connection[Any], migration: Migration) -> list[str]:
    if migration.up.verify is None:
        return []
    rows = conn.execute(cast(LiteralString, migration.up.verify)).fetchall()
    return [row["problem"] for row in rows]


def _record(conn: psycopg.Connection[Any], migration: Migration, *, checksum: str | None) -> None:
    conn.execute(
        "INSERT INTO public.conbench_schema_migration (version, name, checksum)"
        " VALUES (%s, %s, %s)",
        (migration.version, migration.ledger_name, checksum),
    )


def _ledger_version(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute(
        "SELECT coalesce(max(version), 0) AS version FROM public.conbench_schema_migration"
    ).fetchone()
    return int(row["version"])
