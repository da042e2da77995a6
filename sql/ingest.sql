-- name: insert_results
-- Get-or-create every dimension the results name, then insert all the results: one statement,
-- one round trip, however many results. Each parameter is a JSON array of rows of its table:
-- %(cases)s, %(contexts)s, %(infos)s, %(hardware)s and %(commits)s hold distinct keys under a
-- candidate id; the rows of %(results)s name their dimensions by those candidate ids.
-- Existing rows are found by index: case_index, context_index, info_tags_index, commit_index,
-- hardware_index (on name; machines then match their 15 other columns with IS NOT DISTINCT FROM,
-- so partial modern machines dedupe; clusters match their info documents). info has no unique
-- index (upstream dropped it in 99895af5dae2), only the hash index info_tags_index: a few keys
-- are looked up one by one (an early-stopping scan where the index is missing), many by one join.
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

-- name: insert_result_found
-- One result whose dimension rows exist, but perhaps its case: a single POST whose dimensions
-- this process has not met yet (conbench.ingest_cache; a run's commit, machine, context and info
-- usually come with its first result, a new benchmark brings a new case). Looks each dimension
-- up by index (context_index, info_tags_index, hardware_index on name, commit_index,
-- case_index); when all but the case are found, creates a missing case under %(case_id)s and
-- inserts the result. No row back means a dimension is missing (or the case insert lost a race)
-- and nothing was written: the caller then stores the result with insert_results, which creates
-- the rest. %(result)s is the JSON object of the result's own columns, %(hardware)s that of its
-- hardware row (as in insert_results); %(sha)s NULL stores a commitless result. Any one of equal
-- info rows is taken (info has no unique index), as insert_results does for a few results.
-- Returns the row results.get_result would read back (the stored columns, case_name,
-- case_tags, context_tags, info_tags, and the hardware and commit rows as JSON objects): the
-- legacy 201 answers it, and the cache keeps the dimension rows it names.
WITH
r AS (
    SELECT * FROM json_populate_record(NULL::benchmark_result, %(result)s::json)
),
hw AS (
    SELECT * FROM json_populate_record(NULL::hardware, %(hardware)s::json)
),
found AS (
    SELECT
        co.id AS context_id, co.tags AS context_tags,
        f.id AS info_id, f.tags AS info_tags,
        h.id AS hardware_id, h.hash AS hardware_hash, to_jsonb(h) AS hardware,
        cm.id AS commit_id, CASE WHEN cm.id IS NULL THEN NULL ELSE to_jsonb(cm) END AS commit
    FROM (
        SELECT c.* FROM context AS c WHERE c.tags = %(context)s::jsonb LIMIT 1
    ) AS co
    CROSS JOIN LATERAL (
        SELECT f.* FROM info AS f WHERE f.tags = %(info)s::jsonb LIMIT 1
    ) AS f
    CROSS JOIN LATERAL (
        SELECT h.*
        FROM hw AS i
        JOIN hardware AS h ON h.name = i.name
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
    LEFT JOIN commit AS cm
        ON cm.sha = %(sha)s::text AND cm.repository = %(repository)s::text
    WHERE %(sha)s::text IS NULL OR cm.id IS NOT NULL
),
case_found AS (
    SELECT c.* FROM "case" AS c
    WHERE c.name = %(case_name)s::text AND c.tags = %(case_tags)s::jsonb
    LIMIT 1
),
case_new AS (
    INSERT INTO "case" (id, name, tags)
    SELECT %(case_id)s::text, %(case_name)s::text, %(case_tags)s::jsonb
    WHERE NOT EXISTS (TABLE case_found) AND EXISTS (TABLE found)
    ON CONFLICT DO NOTHING
    RETURNING *
),
inserted AS (
    INSERT INTO benchmark_result (
        id, case_id, context_id, run_id, unit, time_unit, batch_id, timestamp, iterations,
        min, max, mean, median, stdev, q1, q3, iqr, info_id, error, data, times, validation,
        optional_benchmark_info, change_annotations, run_tags, run_reason, commit_id,
        hardware_id, commit_repo_url, history_fingerprint, submission_key,
        submission_payload_sha256
    )
    SELECT
        r.id, ca.id, d.context_id, r.run_id, r.unit, r.time_unit, r.batch_id, r.timestamp,
        r.iterations, r.min, r.max, r.mean, r.median, r.stdev, r.q1, r.q3, r.iqr, d.info_id,
        r.error, r.data, r.times, r.validation, r.optional_benchmark_info, r.change_annotations,
        r.run_tags, r.run_reason, d.commit_id, d.hardware_id, r.commit_repo_url,
        md5(ca.id || d.context_id || d.hardware_hash || r.commit_repo_url),
        r.submission_key, r.submission_payload_sha256
    FROM r
    CROSS JOIN found AS d
    CROSS JOIN (TABLE case_found UNION ALL TABLE case_new) AS ca
    RETURNING *
)
SELECT
    i.*,
    ca.name AS case_name,
    ca.tags AS case_tags,
    d.context_tags,
    d.info_tags,
    d.hardware,
    d.commit
FROM inserted AS i
CROSS JOIN found AS d
CROSS JOIN (TABLE case_found UNION ALL TABLE case_new) AS ca

-- name: insert_result_known
-- One result whose context, info, hardware and commit rows this process found before
-- (conbench.ingest_cache): their ids and the hardware hash come as parameters, and only the case
-- is looked up (case_index) or created under %(case_id)s, so the statement is about a third
-- cheaper for the database than insert_result_found. A dimension row deleted since fails its
-- foreign key and nothing is stored (the caller then forgets the ids and runs
-- insert_result_found); no row back means the case insert lost a race (nothing stored either).
-- %(result)s as in insert_result_found; %(commit_id)s NULL stores a commitless result.
-- Returns (id, history_fingerprint), or no row.
WITH
case_found AS (
    SELECT c.id FROM "case" AS c
    WHERE c.name = %(case_name)s::text AND c.tags = %(case_tags)s::jsonb
    LIMIT 1
),
case_new AS (
    INSERT INTO "case" (id, name, tags)
    SELECT %(case_id)s::text, %(case_name)s::text, %(case_tags)s::jsonb
    WHERE NOT EXISTS (TABLE case_found)
    ON CONFLICT DO NOTHING
    RETURNING id
)
INSERT INTO benchmark_result (
    id, case_id, context_id, run_id, unit, time_unit, batch_id, timestamp, iterations,
    min, max, mean, median, stdev, q1, q3, iqr, info_id, error, data, times, validation,
    optional_benchmark_info, change_annotations, run_tags, run_reason, commit_id,
    hardware_id, commit_repo_url, history_fingerprint, submission_key,
    submission_payload_sha256
)
SELECT
    r.id, ca.id, %(context_id)s::text, r.run_id, r.unit, r.time_unit, r.batch_id,
    r.timestamp, r.iterations, r.min, r.max, r.mean, r.median, r.stdev, r.q1, r.q3, r.iqr,
    %(info_id)s::text, r.error, r.data, r.times, r.validation, r.optional_benchmark_info,
    r.change_annotations, r.run_tags, r.run_reason, %(commit_id)s::text, %(hardware_id)s::text,
    r.commit_repo_url,
    md5(ca.id || %(context_id)s::text || %(hardware_hash)s::text || r.commit_repo_url),
    r.submission_key, r.submission_payload_sha256
FROM json_populate_record(NULL::benchmark_result, %(result)s::json) AS r
CROSS JOIN (TABLE case_found UNION ALL TABLE case_new) AS ca
RETURNING id, history_fingerprint

-- name: insert_result_known_detail
-- insert_result_known for the legacy create: returns the row insert_result_found_detail returns
-- but for context_tags, info_tags and hardware, which the caller has cached with the ids; or no
-- row.
WITH
case_found AS (
    SELECT c.* FROM "case" AS c
    WHERE c.name = %(case_name)s::text AND c.tags = %(case_tags)s::jsonb
    LIMIT 1
),
case_new AS (
    INSERT INTO "case" (id, name, tags)
    SELECT %(case_id)s::text, %(case_name)s::text, %(case_tags)s::jsonb
    WHERE NOT EXISTS (TABLE case_found)
    ON CONFLICT DO NOTHING
    RETURNING *
),
inserted AS (
    INSERT INTO benchmark_result (
        id, case_id, context_id, run_id, unit, time_unit, batch_id, timestamp, iterations,
        min, max, mean, median, stdev, q1, q3, iqr, info_id, error, data, times, validation,
        optional_benchmark_info, change_annotations, run_tags, run_reason, commit_id,
        hardware_id, commit_repo_url, history_fingerprint, submission_key,
        submission_payload_sha256
    )
    SELECT
        r.id, ca.id, %(context_id)s::text, r.run_id, r.unit, r.time_unit, r.batch_id,
        r.timestamp, r.iterations, r.min, r.max, r.mean, r.median, r.stdev, r.q1, r.q3, r.iqr,
        %(info_id)s::text, r.error, r.data, r.times, r.validation, r.optional_benchmark_info,
        r.change_annotations, r.run_tags, r.run_reason, %(commit_id)s::text,
        %(hardware_id)s::text, r.commit_repo_url,
        md5(ca.id || %(context_id)s::text || %(hardware_hash)s::text || r.commit_repo_url),
        r.submission_key, r.submission_payload_sha256
    FROM json_populate_record(NULL::benchmark_result, %(result)s::json) AS r
    CROSS JOIN (TABLE case_found UNION ALL TABLE case_new) AS ca
    RETURNING *
)
SELECT
    i.*,
    ca.name AS case_name,
    ca.tags AS case_tags,
    CASE WHEN cm.id IS NULL THEN NULL ELSE to_jsonb(cm) END AS commit
FROM inserted AS i
CROSS JOIN (TABLE case_found UNION ALL TABLE case_new) AS ca
LEFT JOIN commit AS cm ON cm.id = i.commit_id

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
