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
-- commit_id is set), in no particular order: sorting thousands of these wide rows cost the server
-- more than the caller's sort of the tuples. The case, context, info and hardware come by id from
-- get_result_entities (a few distinct rows, decoded once). Measurements arrive as float8: the
-- cast rounds the stored decimal correctly, exactly as Python's float(Decimal) would, and saves
-- the Decimal objects. Only the columns a row shows or is scored on (the wide JSON columns of a
-- result cost more to read than everything else). The repetitions are summed up here: whether a
-- summary exists at all (data present, not empty, no NULL; data is one-dimensional, as the series
-- index's predicate requires), and the data itself only when min or max is missing and Python
-- has to take it from the repetitions (rarely: thousands of arrays cost more to send and decode
-- than the rest of the row). Index: benchmark_result_commit_id_index and
-- benchmark_result_run_id_index (a BitmapAnd), or benchmark_result_run_id_index alone without a
-- commit.
SELECT
    r.id,
    r.run_id,
    r.timestamp,
    r.unit,
    coalesce(cardinality(r.data) > 0 AND array_position(r.data, NULL) IS NULL, FALSE)
        AS summarizable,
    r.min::float8 AS min,
    r.max::float8 AS max,
    r.error,
    r.history_fingerprint,
    r.case_id,
    r.context_id,
    r.info_id,
    r.hardware_id,
    coalesce(r.change_annotations -> 'begins_distribution_change', 'null') NOT IN
        ('false', 'null', '0', '""', '[]', '{}') AS begins_distribution_change,
    CASE WHEN r.min IS NULL OR r.max IS NULL THEN r.data::float8[] END AS data
FROM benchmark_result AS r
WHERE r.run_id = ANY(%(run_ids)s)
    AND (%(commit_id)s::text IS NULL OR r.commit_id = %(commit_id)s)

-- name: get_result_entities
-- The cases, contexts, infos and hardware a report's rows name, by id, as one JSON document
-- `{"case_name": {id: name}, "case": {id: tags}, "context": {id: tags}, "info": {id: tags},
-- "hardware": {id: {id, type, name, hash}}}` (`{}` for a kind without rows): a report names up to
-- ~5,000 cases, and one document decodes several times faster than a row per case (two objects
-- of cases cost the server less than one of [name, tags] arrays, and decode into no array per
-- case). Executed unprepared (the id lists run to thousands). Index: the primary key of each
-- table (small tables are scanned).
SELECT json_build_object(
    'case_name', coalesce(cases.names, '{}'),
    'case', coalesce(cases.tags, '{}'),
    'context', coalesce((
        SELECT json_object_agg(ctx.id, ctx.tags)
        FROM context AS ctx
        WHERE ctx.id = ANY(%(context_ids)s::text[])
    ), '{}'),
    'info', coalesce((
        SELECT json_object_agg(i.id, i.tags)
        FROM info AS i
        WHERE i.id = ANY(%(info_ids)s::text[])
    ), '{}'),
    'hardware', coalesce((
        SELECT json_object_agg(
            h.id,
            json_build_object('id', h.id, 'type', h.type, 'name', h.name, 'hash', h.hash)
        )
        FROM hardware AS h
        WHERE h.id = ANY(%(hardware_ids)s::text[])
    ), '{}')
) AS entities
FROM (
    SELECT json_object_agg(cs.id, cs.name) AS names, json_object_agg(cs.id, cs.tags) AS tags
    FROM "case" AS cs
    WHERE cs.id = ANY(%(case_ids)s::text[])
) AS cases

-- name: list_baseline_results
-- Every result of the given baseline runs, with its commit's sha and timestamp (measurements as
-- float8 and summed up, as list_contender_results), in no particular order: the caller keeps the
-- newest of each fingerprint it pairs. The server reads every result of the runs either way;
-- sorting the wide rows for a DISTINCT ON and joining a list of the wanted fingerprints cost it
-- 2.5 times the scan (and the generic plan of that query, once prepared, probed the fingerprint
-- index per fingerprint: 4 s for 4,500). Index: benchmark_result_run_id_index; commit_pkey (or a hash of
-- commit).
SELECT
    r.id,
    r.run_id,
    r.timestamp,
    r.unit,
    coalesce(cardinality(r.data) > 0 AND array_position(r.data, NULL) IS NULL, FALSE)
        AS summarizable,
    r.min::float8 AS min,
    r.max::float8 AS max,
    r.error,
    r.history_fingerprint,
    c.sha AS commit_sha,
    c.timestamp AS commit_timestamp,
    CASE WHEN r.min IS NULL OR r.max IS NULL THEN r.data::float8[] END AS data
FROM benchmark_result AS r
LEFT JOIN commit AS c ON c.id = r.commit_id
WHERE r.run_id = ANY(%(run_ids)s)
