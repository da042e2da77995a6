-- name: list_commit_runs
-- The runs with results on one commit (repository, sha) of the CI report's commit mode: per run
-- the count of its results on that commit, its representative (lowest-id) result's run metadata,
-- and the commit row. Index: commit_index (sha, repository), then
-- benchmark_result_commit_id_index; benchmark_result_pkey for the representatives.
WITH target AS (
    SELECT *
    FROM commit
    WHERE sha = %(sha)s
        AND repository = %(repository)s
),
runs AS (
    SELECT r.run_id, count(*) AS result_count, min(r.id) AS first_id
    FROM target
    JOIN benchmark_result AS r ON r.commit_id = target.id
    GROUP BY r.run_id
)
SELECT
    runs.run_id,
    runs.result_count,
    rep.run_reason,
    rep.run_tags,
    rep.commit_repo_url,
    to_jsonb(target) AS commit
FROM runs
JOIN benchmark_result AS rep ON rep.id = runs.first_id
CROSS JOIN target
ORDER BY runs.run_id

-- name: list_run_groups
-- The given runs split by (repository, commit): one row per group with its result count, its
-- representative (lowest-id) result's run metadata and the commit row (NULL when commitless); a
-- run whose results name several commits has several rows. Optionally only one repository.
-- Index: benchmark_result_run_id_index; benchmark_result_pkey and commit_pkey per group.
WITH groups AS (
    SELECT
        r.run_id,
        r.commit_repo_url,
        r.commit_id,
        count(*) AS result_count,
        min(r.id) AS first_id
    FROM benchmark_result AS r
    WHERE r.run_id = ANY(%(run_ids)s)
        AND (%(repository)s::text IS NULL OR r.commit_repo_url = %(repository)s)
    GROUP BY r.run_id, r.commit_repo_url, r.commit_id
)
SELECT
    g.run_id,
    g.result_count,
    rep.run_reason,
    rep.run_tags,
    g.commit_repo_url,
    CASE WHEN c.id IS NULL THEN NULL ELSE to_jsonb(c) END AS commit
FROM groups AS g
JOIN benchmark_result AS rep ON rep.id = g.first_id
LEFT JOIN commit AS c ON c.id = g.commit_id
ORDER BY g.run_id, g.commit_id

-- name: list_contender_results
-- The contender rows of a CI report: every result of the given runs (only those on one commit when
-- commit_id is set), ordered by run, then id; the case, context, info and hardware come by id from
-- list_result_entities (a few distinct rows, decoded once). Measurements arrive as float8: the
-- cast rounds the stored decimal correctly, exactly as Python's float(Decimal) would, and saves
-- the Decimal objects. Index: benchmark_result_run_id_index.
SELECT
    r.id,
    r.run_id,
    r.timestamp,
    r.unit,
    r.data::float8[] AS data,
    r.min::float8 AS min,
    r.max::float8 AS max,
    r.error,
    r.history_fingerprint,
    r.case_id,
    r.context_id,
    r.info_id,
    r.hardware_id,
    coalesce(r.change_annotations -> 'begins_distribution_change', 'null') NOT IN
        ('false', 'null', '0', '""', '[]', '{}') AS begins_distribution_change
FROM benchmark_result AS r
WHERE r.run_id = ANY(%(run_ids)s)
    AND (%(commit_id)s::text IS NULL OR r.commit_id = %(commit_id)s)
ORDER BY r.run_id, r.id

-- name: list_result_entities
-- The cases, contexts, infos and hardware a report's rows name, by id: `kind`, `id`, `name` (case
-- and hardware), `tags` (hardware: its type and hash). Index: the primary key of each table.
SELECT 'case' AS kind, id, name, tags
FROM "case"
WHERE id = ANY(%(case_ids)s)
UNION ALL
SELECT 'context', id, NULL, tags
FROM context
WHERE id = ANY(%(context_ids)s)
UNION ALL
SELECT 'info', id, NULL, tags
FROM info
WHERE id = ANY(%(info_ids)s)
UNION ALL
SELECT 'hardware', id, name, jsonb_build_object('type', type, 'hash', hash)
FROM hardware
WHERE id = ANY(%(hardware_ids)s)

-- name: list_baseline_results
-- The newest result (timestamp, then id) of each fingerprint in each of the given baseline runs,
-- among the given (distinct) fingerprints, with its commit's sha and timestamp (measurements as
-- float8, as list_contender_results). The fingerprints
-- are joined as a set (hashed), not compared as an ANY list, so planning stays cheap for 5000 of
-- them. Index: benchmark_result_run_id_index; commit_pkey.
SELECT DISTINCT ON (r.run_id, r.history_fingerprint)
    r.id,
    r.run_id,
    r.timestamp,
    r.unit,
    r.data::float8[] AS data,
    r.min::float8 AS min,
    r.max::float8 AS max,
    r.error,
    r.history_fingerprint,
    c.sha AS commit_sha,
    c.timestamp AS commit_timestamp
FROM benchmark_result AS r
JOIN unnest(%(fingerprints)s::text[]) AS f (fingerprint) ON f.fingerprint = r.history_fingerprint
LEFT JOIN commit AS c ON c.id = r.commit_id
WHERE r.run_id = ANY(%(run_ids)s)
ORDER BY r.run_id, r.history_fingerprint, r.timestamp DESC, r.id DESC
