-- name: list_runs_for_commits
-- A page of runs with results on commits of these SHAs (any repository): distinct run_ids in
-- ascending order after the cursor, each with its representative (lowest-id) result, hardware and
-- commit. Index: commit_index (sha leads) -> benchmark_result_commit_id_index for the run ids
-- (materialized, so no plan walks run_id order hoping to meet these commits);
-- benchmark_result_run_id_id_index for each representative.
WITH on_commits AS MATERIALIZED (
    SELECT DISTINCT r.run_id
    FROM commit AS c
    JOIN benchmark_result AS r ON r.commit_id = c.id
    WHERE c.sha = ANY(%(shas)s)
        AND (%(cursor)s::text IS NULL OR r.run_id > %(cursor)s)
),
page AS (
    SELECT run_id
    FROM on_commits
    ORDER BY run_id
    LIMIT %(page_size)s
)
SELECT
    rep.id,
    rep.run_id,
    rep.run_tags,
    rep.run_reason,
    rep.timestamp,
    rep.commit_repo_url,
    to_jsonb(h) AS hardware,
    CASE WHEN c.id IS NULL THEN NULL ELSE to_jsonb(c) END AS commit
FROM page
CROSS JOIN LATERAL (
    SELECT *
    FROM benchmark_result AS r
    WHERE r.run_id = page.run_id
    ORDER BY r.id
    LIMIT 1
) AS rep
JOIN hardware AS h ON h.id = rep.hardware_id
LEFT JOIN commit AS c ON c.id = rep.commit_id
ORDER BY rep.run_id

-- name: get_run
-- A run's representative result (the lowest id of the run) with its hardware and commit rows.
-- Index: benchmark_result_run_id_id_index (run_id, id): the lowest id is the run's first entry.
SELECT
    r.id,
    r.run_id,
    r.run_tags,
    r.run_reason,
    r.timestamp,
    r.commit_repo_url,
    to_jsonb(h) AS hardware,
    CASE WHEN c.id IS NULL THEN NULL ELSE to_jsonb(c) END AS commit
FROM benchmark_result AS r
JOIN hardware AS h ON h.id = r.hardware_id
LEFT JOIN commit AS c ON c.id = r.commit_id
WHERE r.run_id = %(run_id)s
ORDER BY r.id
LIMIT 1
