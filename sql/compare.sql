-- name: exists_run
-- Whether any result carries this run_id. Index: benchmark_result_run_id_index.
SELECT EXISTS (
    SELECT 1
    FROM benchmark_result
    WHERE run_id = %(run_id)s
) AS found

-- name: get_run_commit
-- The commit of a run (its lowest-id result with a commit): the baseline commit of a run
-- compare. Index: benchmark_result_run_id_index (materialized, so no plan walks the primary key
-- in id order hoping to meet the run), then commit_pkey.
WITH run AS MATERIALIZED (
    SELECT id, commit_id
    FROM benchmark_result
    WHERE run_id = %(run_id)s
        AND commit_id IS NOT NULL
)
SELECT c.*
FROM run
JOIN commit AS c ON c.id = run.commit_id
ORDER BY run.id
LIMIT 1

-- name: list_run_pair_results
-- One page of a run compare (01 §4.3): the next `page_size` distinct fingerprints of both runs'
-- results after the cursor, and every result of either run with one of them (rows as
-- results.get_result without info tags, and without the commit, which a compare side's result
-- entity leaves out), by fingerprint and id. Index: benchmark_result_run_id_index for both steps,
-- then the primary keys of the joined tables.
WITH page AS (
    SELECT DISTINCT history_fingerprint
    FROM benchmark_result
    WHERE run_id = ANY(%(run_ids)s)
        AND (%(cursor)s::text IS NULL OR history_fingerprint > %(cursor)s)
    ORDER BY history_fingerprint
    LIMIT %(page_size)s
)
SELECT
    r.*,
    cs.name AS case_name,
    cs.tags AS case_tags,
    ctx.tags AS context_tags,
    to_jsonb(h) AS hardware,
    NULL::jsonb AS commit
FROM benchmark_result AS r
JOIN page ON page.history_fingerprint = r.history_fingerprint
JOIN "case" AS cs ON cs.id = r.case_id
JOIN context AS ctx ON ctx.id = r.context_id
JOIN hardware AS h ON h.id = r.hardware_id
WHERE r.run_id = ANY(%(run_ids)s)
ORDER BY r.history_fingerprint, r.id
