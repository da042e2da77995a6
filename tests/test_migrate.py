"""The migrator: detection and adoption (spec 03 §4), the ledger (§6), the migration files."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from conbench.db import connect
from conbench.migrate import (
    MigrationError,
    MigrationResult,
    available_migrations,
    check_database,
    revert_migrations,
    run_migrations,
)
from conbench.migration_files import split_statements
from conbench.paths import MIGRATIONS_DIR
from conbench.schema_dump import dump_schema
from tests.legacy_db import build_legacy_database, execute, legacy_rows

PRODUCT_TABLES = {"api_token", "cli_login_code", "alert_rule", "alert_event", "alert_delivery"}
SHIPPED = [1, 2, 3, 4, 5, 6, 7, 8, 9]  # every version in sql/migrations, checked below
LATEST = SHIPPED[-1]


def ledger(url: str) -> list[dict]:
    return execute(url, "SELECT version, name, checksum FROM conbench_schema_migration ORDER BY 1")


def tables(url: str) -> set[str]:
    rows = execute(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {row["tablename"] for row in rows}


def dump(url: str) -> str:
    with connect(url) as conn:
        return dump_schema(conn)


def test_fresh_database_gets_every_version(empty_db_url: str) -> None:
    result = run_migrations(empty_db_url)
    assert result == MigrationResult(state="fresh", applied=SHIPPED, version=LATEST)
    rows = ledger(empty_db_url)
    assert [row["name"] for row in rows] == [
        "baseline",
        "submission-idempotency",
        "commit-backfill-job",
        "commit-default-branch-index",
        "analysis-indexes",
        "lookback-cache",
        "baseline-series-indexes",
        "info-tags-index",
        "history-cache",
    ]
    assert [row["checksum"] for row in rows] == [m.checksum for m in available_migrations()]


def test_second_run_changes_nothing(empty_db_url: str) -> None:
    run_migrations(empty_db_url)
    before = dump(empty_db_url)
    assert run_migrations(empty_db_url) == MigrationResult("ledger", [], LATEST)
    assert dump(empty_db_url) == before


def test_concurrent_runs_wait_for_each_other_and_apply_each_version_once(
    empty_db_url: str,
) -> None:
    results: list[MigrationResult] = []
    threads = [
        threading.Thread(target=lambda: results.append(run_migrations(empty_db_url)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results, key=lambda r: r.state) == [
        MigrationResult("fresh", SHIPPED, LATEST),
        MigrationResult("ledger", [], LATEST),
    ]
    assert [row["version"] for row in ledger(empty_db_url)] == SHIPPED


def test_migration_changed_after_it_was_applied_is_refused(empty_db_url: str) -> None:
    run_migrations(empty_db_url)
    execute(empty_db_url, "UPDATE conbench_schema_migration SET checksum = 'x' WHERE version = 1")
    with pytest.raises(MigrationError, match="migration 000001_baseline was changed after"):
        run_migrations(empty_db_url)


def test_database_newer_than_the_binary_is_refused(empty_db_url: str) -> None:
    run_migrations(empty_db_url)
    execute(empty_db_url, "INSERT INTO conbench_schema_migration (version, name) VALUES (99, 'x')")
    with pytest.raises(MigrationError) as exc:
        run_migrations(empty_db_url)
    assert str(exc.value) == f"database schema version 99 is newer than this binary ({LATEST})"


def test_missing_version_in_the_ledger_is_applied(empty_db_url: str) -> None:
    run_migrations(empty_db_url)
    execute(empty_db_url, "DELETE FROM conbench_schema_migration WHERE version = 3")
    assert run_migrations(empty_db_url).applied == [3]


def test_invalid_leftover_index_is_rebuilt(empty_db_url: str) -> None:
    run_migrations(empty_db_url)
    execute(
        empty_db_url,
        "UPDATE pg_index SET indisvalid = false"
        " WHERE indexrelid = 'benchmark_result_submission_key_index'::regclass",
    )
    execute(empty_db_url, "DELETE FROM conbench_schema_migration WHERE version = 2")
    assert check_database(empty_db_url)["pending"] == [2]
    messages: list[str] = []
    assert run_migrations(empty_db_url, progress=messages.append).applied == [2]
    assert any("invalid index benchmark_result_submission_key_index" in m for m in messages)
    assert check_database(empty_db_url)["ok"]


def test_invalid_index_is_an_error_in_the_check_report(empty_db_url: str) -> None:
    run_migrations(empty_db_url)
    execute(
        empty_db_url,
        "UPDATE pg_index SET indisvalid = false"
        " WHERE indexrelid = 'commit_default_branch_repo_ts_index'::regclass",
    )
    report = check_database(empty_db_url)
    assert not report["ok"]
    assert report["errors"] == [
        "000004_commit_default_branch_index: "
        "missing valid index commit_default_branch_repo_ts_index"
    ]


def test_check_report_of_a_fresh_and_of_a_migrated_database(empty_db_url: str) -> None:
    assert check_database(empty_db_url) == {
        "ok": True,
        "state": "fresh",
        "version": 0,
        "errors": [],
        "warnings": [],
        "pending": SHIPPED,
    }
    run_migrations(empty_db_url)
    assert check_database(empty_db_url) == {
        "ok": True,
        "state": "ledger",
        "version": LATEST,
        "errors": [],
        "warnings": [],
        "pending": [],
    }


def test_check_report_lists_a_changed_migration(empty_db_url: str) -> None:
    run_migrations(empty_db_url)
    execute(empty_db_url, "UPDATE conbench_schema_migration SET checksum = 'x' WHERE version = 2")
    report = check_database(empty_db_url)
    assert not report["ok"]
    assert report["errors"][0].startswith("migration 000002_submission_idempotency was changed")


def test_legacy_head_is_adopted_without_changing_a_row(empty_db_url: str) -> None:
    build_legacy_database(empty_db_url)
    before = legacy_rows(empty_db_url)
    result = run_migrations(empty_db_url)
    assert result == MigrationResult("legacy-alembic", SHIPPED, LATEST)
    assert legacy_rows(empty_db_url) == before
    assert all(before.values())
    assert execute(empty_db_url, "SELECT version_num FROM alembic_version") == [
        {"version_num": "99895af5dae2"}
    ]
    assert PRODUCT_TABLES | {"commit_backfill_job"} <= tables(empty_db_url)


def test_check_report_of_a_legacy_database_warns_about_odd_ids_and_missing_indexes(
    empty_db_url: str,
) -> None:
    build_legacy_database(empty_db_url)
    execute(empty_db_url, "DROP INDEX benchmark_result_batch_id_index")
    report = check_database(empty_db_url)
    assert (report["ok"], report["state"], report["pending"]) == (
        True,
        "legacy-alembic",
        SHIPPED,
    )
    assert report["warnings"][0] == "missing legacy index benchmark_result_batch_id_index"
    assert report["warnings"][1].startswith("1 of the newest 2 results have ids outside")


def test_legacy_database_without_a_required_index_is_refused(empty_db_url: str) -> None:
    build_legacy_database(empty_db_url)
    execute(empty_db_url, "DROP INDEX commit_index")
    with pytest.raises(MigrationError, match="cannot be adopted: missing index commit_index"):
        run_migrations(empty_db_url)
    assert "conbench_schema_migration" not in tables(empty_db_url)


def test_legacy_database_at_an_older_revision_is_refused(empty_db_url: str) -> None:
    build_legacy_database(empty_db_url, revision="b8a3e65efb9d")
    with pytest.raises(MigrationError) as exc:
        run_migrations(empty_db_url)
    assert str(exc.value) == (
        "legacy database at Alembic revision b8a3e65efb9d: upgrade it with the legacy Alembic "
        "migrations to 99895af5dae2 first"
    )


def test_unknown_alembic_revision_is_refused(empty_db_url: str) -> None:
    build_legacy_database(empty_db_url, revision="0123456789ab")
    with pytest.raises(MigrationError, match="^unknown Alembic revision 0123456789ab$"):
        run_migrations(empty_db_url)


def test_create_all_database_is_adopted_only_when_asked(empty_db_url: str) -> None:
    build_legacy_database(empty_db_url, create_all=True)
    before = legacy_rows(empty_db_url)
    with pytest.raises(MigrationError, match="--adopt-unversioned"):
        run_migrations(empty_db_url)
    assert not check_database(empty_db_url)["ok"]
    assert check_database(empty_db_url, adopt_unversioned=True)["ok"]
    result = run_migrations(empty_db_url, adopt_unversioned=True)
    assert (result.state, result.applied) == ("unversioned", SHIPPED)
    assert legacy_rows(empty_db_url) == before
    checks = execute(
        empty_db_url, "SELECT conname FROM pg_constraint WHERE conname LIKE '%_mean_check'"
    )
    assert checks == [{"conname": "benchmark_result_mean_check"}]
    assert "alembic_version" not in tables(empty_db_url)


def test_empty_alembic_version_counts_as_unversioned(empty_db_url: str) -> None:
    build_legacy_database(empty_db_url, revision=None, rows=False)
    assert check_database(empty_db_url)["state"] == "unversioned"
    assert run_migrations(empty_db_url, adopt_unversioned=True).version == LATEST


def test_go_design_alembic_revision_is_adopted_and_completed(empty_db_url: str) -> None:
    """At c4f9e2a1d6b8 the Go design had alert_event without `repository` and no outbox."""
    build_legacy_database(empty_db_url, revision="c4f9e2a1d6b8")
    execute(
        empty_db_url,
        """
        CREATE TABLE api_token (id varchar(50) PRIMARY KEY, user_id varchar(50) NOT NULL
            REFERENCES "user"(id), name text NOT NULL, token_hash text NOT NULL UNIQUE,
            token_prefix text NOT NULL, created_at timestamp NOT NULL, last_used_at timestamp,
            revoked_at timestamp);
        CREATE TABLE alert_rule (id varchar(50) PRIMARY KEY, user_id varchar(50) NOT NULL
            REFERENCES "user"(id), name text NOT NULL, repository text NOT NULL,
            baseline text NOT NULL, threshold float NOT NULL, threshold_z float NOT NULL,
            run_reason text, enabled boolean DEFAULT true NOT NULL,
            state text DEFAULT 'inactive' NOT NULL, created_at timestamp NOT NULL,
            updated_at timestamp NOT NULL, last_evaluated_at timestamp);
        CREATE TABLE alert_event (id varchar(50) PRIMARY KEY, rule_id varchar(50) NOT NULL
            REFERENCES alert_rule(id) ON DELETE CASCADE, kind text NOT NULL, status text NOT NULL,
            status_reason text NOT NULL, run_id text, commit_sha text, report_url text NOT NULL,
            summary jsonb NOT NULL, created_at timestamp NOT NULL);
        INSERT INTO alert_rule VALUES ('r1', 'u1', 'r', 'https://github.com/o/r', 'parent', 5, 5,
            NULL, true, 'open', now(), now(), NULL);
        INSERT INTO alert_event VALUES ('e1', 'r1', 'opened', 'failure', 'x', NULL, NULL,
            'https://conbench.example/r', '{}', now());
        """,
    )
    assert run_migrations(empty_db_url).state == "legacy-alembic"
    assert execute(empty_db_url, "SELECT repository FROM alert_event") == [
        {"repository": "https://github.com/o/r"}
    ]
    assert check_database(empty_db_url)["ok"]


def go_era_database(url: str, version: int, dirty: bool = False) -> None:
    """What the Go design's migrator leaves: its ledger, no alembic_version, no product CHECKs."""
    run_migrations(url)
    revert_migrations(url, to_version=version)
    execute(
        url,
        f"""
        DROP TABLE conbench_schema_migration;
        DROP TABLE alembic_version;
        ALTER TABLE alert_rule DROP CONSTRAINT alert_rule_baseline_check,
            DROP CONSTRAINT alert_rule_state_check;
        CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL);
        INSERT INTO schema_migrations VALUES ({version}, {dirty});
        """,
    )


def test_go_era_ledger_is_copied_and_continued(empty_db_url: str) -> None:
    go_era_database(empty_db_url, version=2)
    result = run_migrations(empty_db_url)
    assert result == MigrationResult("go-ledger", SHIPPED, LATEST)
    assert [(row["version"], row["checksum"] is None) for row in ledger(empty_db_url)] == [
        (1, True),
        (2, True),
        *((version, False) for version in SHIPPED[2:]),
    ]
    constraints = execute(
        empty_db_url, "SELECT conname FROM pg_constraint WHERE conname LIKE 'alert_rule_%_check'"
    )
    assert len(constraints) == 2
    assert run_migrations(empty_db_url).applied == []


def test_dirty_go_era_ledger_is_refused(empty_db_url: str) -> None:
    go_era_database(empty_db_url, version=2, dirty=True)
    with pytest.raises(MigrationError, match="schema_migrations is dirty at version 2"):
        run_migrations(empty_db_url)


def test_database_with_foreign_tables_is_refused(empty_db_url: str) -> None:
    execute(empty_db_url, "CREATE TABLE something_else (id int)")
    with pytest.raises(MigrationError, match="cannot be adopted: missing table benchmark_result"):
        run_migrations(empty_db_url, adopt_unversioned=True)


def test_every_migration_reverts_and_reapplies(empty_db_url: str) -> None:
    run_migrations(empty_db_url)
    migrated = dump(empty_db_url)
    assert revert_migrations(empty_db_url, to_version=0) == SHIPPED[::-1]
    assert tables(empty_db_url) & (PRODUCT_TABLES | {"commit_backfill_job"}) == set()
    assert run_migrations(empty_db_url).applied == SHIPPED
    assert dump(empty_db_url) == migrated


def test_shipped_migrations_are_numbered_from_one_with_up_and_down_files() -> None:
    migrations = available_migrations()
    assert [m.label for m in migrations] == [
        "000001_baseline",
        "000002_submission_idempotency",
        "000003_commit_backfill_job",
        "000004_commit_default_branch_index",
        "000005_analysis_indexes",
        "000006_lookback_cache",
        "000007_baseline_series_indexes",
        "000008_info_tags_index",
        "000009_history_cache",
    ]
    no_transaction = {2, 4, 5, 7, 8}  # CREATE INDEX CONCURRENTLY
    assert [m.up.transactional for m in migrations] == [v not in no_transaction for v in SHIPPED]
    assert all(m.up.verify for m in migrations)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: (d / "000003_commit_backfill_job.down.sql").unlink(), "has no .down.sql"),
        (lambda d: (d / "000002_submission_idempotency.up.sql").unlink(), "has no .up.sql"),
        (lambda d: (d / "7_x.up.sql").write_text(""), "7_x.up.sql is not named"),
        (lambda d: (d / "000002_other.up.sql").write_text(""), "has several names"),
        (lambda d: (d / "000011_x.up.sql").write_text(""), "000010 is missing"),
    ],
)
def test_misnamed_or_unpaired_migration_files_are_refused(tmp_path: Path, change, message) -> None:
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, directory)
    change(directory)
    with pytest.raises(MigrationError, match=message):
        available_migrations(directory)


def test_concurrent_statement_in_a_transactional_file_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, directory)
    (directory / "000010_idx.up.sql").write_text("CREATE INDEX CONCURRENTLY i ON commit (sha);")
    (directory / "000010_idx.down.sql").write_text("DROP INDEX i;")
    with pytest.raises(MigrationError, match="CONCURRENTLY needs `-- conbench:no-transaction`"):
        available_migrations(directory)


def test_statements_split_at_top_level_semicolons_only() -> None:
    text = """
    -- a comment; with a semicolon
    SELECT 'a;b', "c;d", E'e\\';f';
    DO $body$ BEGIN PERFORM 1; END $body$;
    /* block; /* nested; */ */ SELECT $$x;y$$;
    """
    assert [s.splitlines()[-1].strip() for s in split_statements(text)] == [
        "SELECT 'a;b', \"c;d\", E'e\\';f'",
        "DO $body$ BEGIN PERFORM 1; END $body$",
        "/* block; /* nested; */ */ SELECT $$x;y$$",
    ]
