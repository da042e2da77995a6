-- name: exists_run
-- Whether any result carries this run_id. Index: benchmark_result_run_id_index.
SELECT EXISTS (
    SELECT 1
    FROM benchmark_result
    WHERE run_id = %(run_id)s
) AS found

-- name: get_run_commit
-- The commit of a run (its lowest-id result with a commit): the baseline commit of a run
-- compare. Index: benchmark_result_run_id_id_index (run_id, id) walked in id order from the
-- run's first result, stopping at the first with a commit; then commit_pkey (joining the run's
-- results to commit instead hashed the whole commit table).
SELECT c.*
FROM commit AS c
WHERE c.id = (
    SELECT r.commit_id
    FROM benchmark_result AS r
    WHERE r.run_id = %(run_id)s
        AND r.commit_id IS NOT NULL
    ORDER BY r.id
    LIMIT 1
)

-- name: list_run_pair_results
-- One page of a run compare (01 §4.3): the next `page_size` distinct fingerprints of both runs'
-- results after the cursor, and every result of either run with one of them, by fingerprint and
-- id: the columns of a compare side's result entity (results.get_result without the info tags,
-- hardware and commit, which a side leaves out), the case name and tags and the context tags.
-- Measurements arrive as float8 (the cast rounds the stored decimal exactly as Python's
-- float(Decimal) would) and JSON documents as text, so that the caller decodes each distinct
-- document once (run tags, context tags and annotations repeat on every row).
-- Index: benchmark_result_run_id_index for both steps, then the primary keys of the joined
-- tables.
WITH page AS (
    SELECT DISTINCT history_fingerprint
    FROM benchmark_result
    WHERE run_id = ANY(%(run_ids)s)
        AND (%(cursor)s::text IS NULL OR history_fingerprint > %(cursor)s)
    ORDER BY history_fingerprint
    LIMIT %(page_size)s
)
SELECT
    r.id,
    r.run_id,
    r.run_tags::text AS run_tags,
    r.run_reason,
    r.commit_repo_url,
    r.batch_id,
    r.history_fingerprint,
    r.timestamp,
    r.optional_benchmark_info::text AS optional_benchmark_info,
    r.validation::text AS validation,
    r.change_annotations::text AS change_annotations,
    r.data::float8[] AS data,
    r.times::float8[] AS times,
    r.unit,
    r.time_unit,
    r.iterations,
    r.min::float8 AS min,
    r.max::float8 AS max,
    r.mean::float8 AS mean,
    r.median::float8 AS median,
    r.stdev::float8 AS stdev,
    r.q1::float8 AS q1,
    r.q3::float8 AS q3,
    r.iqr::float8 AS iqr,
    r.error::text AS error,
    cs.name AS case_name,
    cs.tags::text AS case_tags,
    ctx.tags::text AS context_tags
FROM benchmark_result AS r
JOIN page ON page.history_fingerprint = r.history_fingerprint
JOIN "case" AS cs ON cs.id = r.case_id
JOIN context AS ctx ON ctx.id = r.context_id
WHERE r.run_id = ANY(%(run_ids)s)
ORDER BY r.history_fingerprint, r.id
