-- name: get_result
-- One result with everything its entities need: case, context and info tags, and the hardware and
-- commit rows as JSON objects (commit NULL when commitless). Index: benchmark_result_pkey, then the
-- primary keys of the joined tables.
SELECT
    r.*,
    cs.name AS case_name,
    cs.tags AS case_tags,
    ctx.tags AS context_tags,
    i.tags AS info_tags,
    to_jsonb(h) AS hardware,
    CASE WHEN c.id IS NULL THEN NULL ELSE to_jsonb(c) END AS commit
FROM benchmark_result AS r
JOIN "case" AS cs ON cs.id = r.case_id
JOIN context AS ctx ON ctx.id = r.context_id
JOIN info AS i ON i.id = r.info_id
JOIN hardware AS h ON h.id = r.hardware_id
LEFT JOIN commit AS c ON c.id = r.commit_id
WHERE r.id = %(id)s

-- name: list_results_scoped
-- A page of one run's and/or one batch's results (rows as get_result), newest id first, ids below
-- the cursor. Index: benchmark_result_run_id_index (run_id) or benchmark_result_batch_id_index
-- (batch_id); executed unprepared so the planner sees which filters are set.
SELECT
    r.*,
    cs.name AS case_name,
    cs.tags AS case_tags,
    ctx.tags AS context_tags,
    i.tags AS info_tags,
    to_jsonb(h) AS hardware,
    CASE WHEN c.id IS NULL THEN NULL ELSE to_jsonb(c) END AS commit
FROM benchmark_result AS r
JOIN "case" AS cs ON cs.id = r.case_id
JOIN context AS ctx ON ctx.id = r.context_id
JOIN info AS i ON i.id = r.info_id
JOIN hardware AS h ON h.id = r.hardware_id
LEFT JOIN commit AS c ON c.id = r.commit_id
WHERE (%(run_id)s::text IS NULL OR r.run_id = %(run_id)s)
    AND (%(batch_id)s::text IS NULL OR r.batch_id = %(batch_id)s)
    AND (%(run_reason)s::text IS NULL OR r.run_reason = %(run_reason)s)
    AND (
        %(earliest)s::timestamp IS NULL
        OR (r.timestamp >= %(earliest)s AND r.id >= %(earliest_id)s)
    )
    AND (%(latest)s::timestamp IS NULL OR r.timestamp <= %(latest)s)
    AND (%(cursor)s::text IS NULL OR r.id < %(cursor)s)
ORDER BY r.id DESC
LIMIT %(page_size)s

-- name: list_results_recent
-- A page of results since 2023-06-03 (older rows predate time-ordered ids), rows as get_result,
-- newest id first, ids below the cursor. Index: benchmark_result_id_idx (partial) scanned
-- backwards, or benchmark_result_run_reason_id_idx with run_reason; executed unprepared so the
-- planner sees which filters are set.
SELECT
    r.*,
    cs.name AS case_name,
    cs.tags AS case_tags,
    ctx.tags AS context_tags,
    i.tags AS info_tags,
    to_jsonb(h) AS hardware,
    CASE WHEN c.id IS NULL THEN NULL ELSE to_jsonb(c) END AS commit
FROM benchmark_result AS r
JOIN "case" AS cs ON cs.id = r.case_id
JOIN context AS ctx ON ctx.id = r.context_id
JOIN info AS i ON i.id = r.info_id
JOIN hardware AS h ON h.id = r.hardware_id
LEFT JOIN commit AS c ON c.id = r.commit_id
WHERE r.timestamp >= TIMESTAMP '2023-06-03'
    AND (%(run_reason)s::text IS NULL OR r.run_reason = %(run_reason)s)
    AND (
        %(earliest)s::timestamp IS NULL
        OR (r.timestamp >= %(earliest)s AND r.id >= %(earliest_id)s)
    )
    AND (%(latest)s::timestamp IS NULL OR r.timestamp <= %(latest)s)
    AND (%(cursor)s::text IS NULL OR r.id < %(cursor)s)
ORDER BY r.id DESC
LIMIT %(page_size)s

-- name: get_result_annotations_for_update
-- The stored change_annotations, row locked until the transaction ends so concurrent merges
-- serialize. Index: benchmark_result_pkey.
SELECT change_annotations
FROM benchmark_result
WHERE id = %(id)s
FOR UPDATE

-- name: update_result_change_annotations
-- Replace change_annotations (the caller merged them). Index: benchmark_result_pkey.
UPDATE benchmark_result
SET change_annotations = %(change_annotations)s
WHERE id = %(id)s

-- name: delete_result
-- Delete one result. Index: benchmark_result_pkey.
DELETE FROM benchmark_result
WHERE id = %(id)s
