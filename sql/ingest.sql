-- name: insert_results
-- Get-or-create every dimension the results name, then insert all the results: one statement,
-- one round trip, however many results. Each parameter is a JSON array of rows of its table:
-- %(cases)s, %(contexts)s, %(infos)s, %(hardware)s and %(commits)s hold distinct keys under a
-- candidate id; the rows of %(results)s name their dimensions by those candidate ids.
-- Existing rows are found by index: case_index, context_index, commit_index, hardware_index (on
-- name; machines then match their 15 other columns with IS NOT DISTINCT FROM, so partial modern
-- machines dedupe; clusters match their info documents). info has no index since 99895af5dae2:
-- a few keys are looked up by an early-stopping scan each, many by one hash join.
-- A dimension insert that loses a unique race inserts nothing, and then no result is inserted
-- either: the caller runs the statement again and finds the winner's row. Numbers travel as
-- JSON text, so numeric columns keep every digit of their shortest round-trip form (04 §2).
-- Returns (id, history_fingerprint) of every result inserted: all of them, or none.
WITH
case_in AS (
    SELECT * FROM json_populate_recordset(NULL::"case", %(cases)s::json)
),
case_ids AS (
    SELECT i.id AS key, c.id
    FROM case_in AS i
    CROSS JOIN LATERAL (
        SELECT c.id FROM "case" AS c WHERE c.name = i.name AND c.tags = i.tags LIMIT 1
    ) AS c
),
case_new AS (
    INSERT INTO "case"
    SELECT * FROM case_in WHERE id NOT IN (SELECT key FROM case_ids)
    ON CONFLICT DO NOTHING
    RETURNING id AS key, id
),
context_in AS (
    SELECT * FROM json_populate_recordset(NULL::context, %(contexts)s::json)
),
context_ids AS (
    SELECT i.id AS key, c.id
    FROM context_in AS i
    CROSS JOIN LATERAL (SELECT c.id FROM context AS c WHERE c.tags = i.tags LIMIT 1) AS c
),
context_new AS (
    INSERT INTO context
    SELECT * FROM context_in WHERE id NOT IN (SELECT key FROM context_ids)
    ON CONFLICT DO NOTHING
    RETURNING id AS key, id
),
info_in AS (
    SELECT * FROM json_populate_recordset(NULL::info, %(infos)s::json)
),
info_ids AS (
    SELECT i.id AS key, f.id
    FROM info_in AS i
    CROSS JOIN LATERAL (SELECT f.id FROM info AS f WHERE f.tags = i.tags LIMIT 1) AS f
    WHERE (SELECT count(*) FROM info_in) <= 8
    UNION ALL
    SELECT i.id, min(f.id)
    FROM info_in AS i
    JOIN info AS f ON f.tags = i.tags
    WHERE (SELECT count(*) FROM info_in) > 8
    GROUP BY i.id
),
info_new AS (
    INSERT INTO info
    SELECT * FROM info_in WHERE id NOT IN (SELECT key FROM info_ids)
    RETURNING id AS key, id
),
hardware_in AS (
    SELECT * FROM json_populate_recordset(NULL::hardware, %(hardware)s::json)
),
hardware_ids AS (
    SELECT i.id AS key, h.id, h.hash
    FROM hardware_in AS i
    CROSS JOIN LATERAL (
        SELECT h.id, h.hash
        FROM hardware AS h
        WHERE h.name = i.name
            AND h.type = i.type
            AND CASE i.type
                WHEN 'cluster' THEN
                    (h.info, h.optional_info) IS NOT DISTINCT FROM (i.info, i.optional_info)
                ELSE
                    (h.architecture_name, h.kernel_name, h.os_name, h.os_version,
                     h.cpu_model_name, h.cpu_l1d_cache_bytes, h.cpu_l1i_cache_bytes,
                     h.cpu_l2_cache_bytes, h.cpu_l3_cache_bytes, h.cpu_core_count,
                     h.cpu_thread_count, h.cpu_frequency_max_hz, h.memory_bytes, h.gpu_count,
                     h.gpu_product_names)
                    IS NOT DISTINCT FROM
                    (i.architecture_name, i.kernel_name, i.os_name, i.os_version,
                     i.cpu_model_name, i.cpu_l1d_cache_bytes, i.cpu_l1i_cache_bytes,
                     i.cpu_l2_cache_bytes, i.cpu_l3_cache_bytes, i.cpu_core_count,
                     i.cpu_thread_count, i.cpu_frequency_max_hz, i.memory_bytes, i.gpu_count,
                     i.gpu_product_names)
            END
        ORDER BY h.id
        LIMIT 1
    ) AS h
),
hardware_new AS (
    INSERT INTO hardware
    SELECT * FROM hardware_in WHERE id NOT IN (SELECT key FROM hardware_ids)
    ON CONFLICT DO NOTHING
    RETURNING id AS key, id, hash
),
commit_in AS (
    SELECT * FROM json_populate_recordset(NULL::commit, %(commits)s::json)
),
commit_ids AS (
    SELECT i.id AS key, c.id
    FROM commit_in AS i
    CROSS JOIN LATERAL (
        SELECT c.id FROM commit AS c WHERE c.sha = i.sha AND c.repository = i.repository LIMIT 1
    ) AS c
),
commit_new AS (
    INSERT INTO commit
    SELECT * FROM commit_in WHERE id NOT IN (SELECT key FROM commit_ids)
    ON CONFLICT DO NOTHING
    RETURNING id AS key, id
),
joined AS (
    SELECT x.*
    FROM json_populate_recordset(NULL::benchmark_result, %(results)s::json) AS r
    JOIN (TABLE case_ids UNION ALL TABLE case_new) AS ca ON ca.key = r.case_id
    JOIN (TABLE context_ids UNION ALL TABLE context_new) AS co ON co.key = r.context_id
    JOIN (TABLE info_ids UNION ALL TABLE info_new) AS f ON f.key = r.info_id
    JOIN (TABLE hardware_ids UNION ALL TABLE hardware_new) AS h ON h.key = r.hardware_id
    LEFT JOIN (TABLE commit_ids UNION ALL TABLE commit_new) AS cm ON cm.key = r.commit_id
    CROSS JOIN LATERAL json_populate_record(r, json_build_object(
        'case_id', ca.id, 'context_id', co.id, 'info_id', f.id, 'hardware_id', h.id,
        'commit_id', cm.id,
        'history_fingerprint', md5(ca.id || co.id || h.hash || r.commit_repo_url)
    )) AS x
    WHERE r.commit_id IS NULL OR cm.id IS NOT NULL
),
inserted AS (
    INSERT INTO benchmark_result
    SELECT * FROM joined
    WHERE (SELECT count(*) FROM joined) = json_array_length(%(results)s::json)
    RETURNING id, history_fingerprint
)
SELECT id, history_fingerprint
FROM inserted

-- name: list_submissions
-- Stored results holding any of the submission keys %(keys)s (partial unique index
-- benchmark_result_submission_key_index).
SELECT
    submission_key,
    submission_payload_sha256,
    id,
    run_id,
    history_fingerprint
FROM benchmark_result
WHERE submission_key = ANY(%(keys)s::text[])

-- name: list_commits
-- Ids of the commits that exist among the pairs zip(%(shas)s, %(repositories)s) (commit_index).
SELECT c.sha, c.repository, c.id
FROM unnest(%(shas)s::text[], %(repositories)s::text[]) AS k (sha, repository)
JOIN commit AS c ON c.sha = k.sha AND c.repository = k.repository

-- name: exists_result
-- Whether the database holds any result at all (seed data is only written into an empty one).
SELECT EXISTS (SELECT FROM benchmark_result) AS value

-- name: get_seed_lock
-- Serialize concurrent seeders (two servers starting at once) until the transaction ends.
SELECT pg_advisory_xact_lock(hashtext('conbench seed demo data')) AS locked
