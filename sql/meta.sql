-- name: get_table_presence
-- Whether the migration ledger and the legacy Alembic table exist (either may be absent).
SELECT
    to_regclass('conbench_schema_migration') IS NOT NULL AS ledger,
    to_regclass('alembic_version') IS NOT NULL AS alembic

-- name: get_schema_version
-- Highest applied migration version (only when the ledger exists).
SELECT max(version) AS value
FROM conbench_schema_migration

-- name: get_alembic_version
-- The legacy Alembic revision (only when alembic_version exists).
SELECT max(version_num) AS value
FROM alembic_version
