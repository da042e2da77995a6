-- name: list_history_points
-- The members of one series (04 §9), oldest first: non-failed results (04 §3) with this
-- fingerprint on a default-branch commit (sha = fork_point_sha) that has a timestamp (a commit
-- without one cannot be placed in time), each with its SVS in the SQL form of 04 §4 (rows where
-- it is NULL are skipped). Only the columns a modern history point shows (02 §7); numerics as
-- float8, exact for stored values (shortest round-trip decimals of doubles) and, fetched in
-- binary, far cheaper to decode than Decimal; the annotation as JSON text, decoded only when it
-- is not a plain true/false/null.
-- Index: benchmark_result_history_fingerprint_index (one series: ~1,000 rows at 1M results,
-- ~2,000 at 10M), materialized first because the planner underestimates `sha = fork_point_sha`
-- and would otherwise loop over every default-branch commit; then commit_pkey per row.
WITH series AS MATERIALIZED (
    SELECT
        r.id,
        r.run_id,
        r.batch_id,
        r.commit_id,
        r.unit,
        r.mean::float8 AS mean,
        r.data::float8[] AS data,
        r.timestamp AS result_timestamp,
        (r.change_annotations -> 'begins_distribution_change')::text AS begins_distribution_change,
        CASE
            WHEN array_length(r.data, 1) = 1 THEN r.mean
            WHEN array_length(r.data, 1) = 2 AND r.unit LIKE '%%/s'
                THEN greatest(r.data[1], r.data[2])
            WHEN array_length(r.data, 1) = 2 THEN least(r.data[1], r.data[2])
            WHEN r.unit LIKE '%%/s' THEN r.max
            ELSE r.min
        END::float8 AS svs
    FROM benchmark_result AS r
    WHERE r.history_fingerprint = %(fingerprint)s
        AND r.error IS NULL
        AND r.unit IS NOT NULL
        AND cardinality(r.data) > 0
        AND array_position(r.data, NULL) IS NULL
)
SELECT
    series.id,
    series.run_id,
    series.batch_id,
    series.unit,
    series.mean,
    series.data,
    series.result_timestamp,
    series.begins_distribution_change,
    series.svs,
    c.sha AS commit_sha,
    c.message AS commit_message,
    c.timestamp AS commit_timestamp
FROM series
JOIN commit AS c ON c.id = series.commit_id
WHERE series.svs IS NOT NULL
    AND c.sha = c.fork_point_sha
    AND c.timestamp IS NOT NULL
ORDER BY c.timestamp, series.result_timestamp, series.id

-- name: list_legacy_history_points
-- The members of one series as `list_history_points`, with the columns of a legacy history
-- sample (01 §7.8) and of the CSV download instead: case and context ids, the times, the run
-- tags (JSON text, decoded by the caller) and the commit's repository.
-- Index: benchmark_result_history_fingerprint_index, then commit_pkey per row (as above).
WITH series AS MATERIALIZED (
    SELECT
        r.id,
        r.case_id,
        r.context_id,
        r.commit_id,
        r.unit,
        r.mean::float8 AS mean,
        r.data::float8[] AS data,
        r.times::float8[] AS times,
        r.run_tags::text AS run_tags,
        r.timestamp AS result_timestamp,
        (r.change_annotations -> 'begins_distribution_change')::text AS begins_distribution_change,
        CASE
            WHEN array_length(r.data, 1) = 1 THEN r.mean
            WHEN array_length(r.data, 1) = 2 AND r.unit LIKE '%%/s'
                THEN greatest(r.data[1], r.data[2])
            WHEN array_length(r.data, 1) = 2 THEN least(r.data[1], r.data[2])
            WHEN r.unit LIKE '%%/s' THEN r.max
            ELSE r.min
        END::float8 AS svs
    FROM benchmark_result AS r
    WHERE r.history_fingerprint = %(fingerprint)s
        AND r.error IS NULL
        AND r.unit IS NOT NULL
        AND cardinality(r.data) > 0
        AND array_position(r.data, NULL) IS NULL
)
SELECT
    series.id,
    series.case_id,
    series.context_id,
    series.unit,
    series.mean,
    series.data,
    series.times,
    series.run_tags,
    series.result_timestamp,
    series.begins_distribution_change,
    series.svs,
    c.sha AS commit_sha,
    c.message AS commit_message,
    c.repository,
    c.timestamp AS commit_timestamp
FROM series
JOIN commit AS c ON c.id = series.commit_id
WHERE series.svs IS NOT NULL
    AND c.sha = c.fork_point_sha
    AND c.timestamp IS NOT NULL
ORDER BY c.timestamp, series.result_timestamp, series.id

-- name: list_series_heads
-- What a series shows above its points, taken from one of its results: benchmark name and case
-- tags, context tags, hardware summary, repository and unit.
-- Index: benchmark_result_pkey, then the primary keys of case, context and hardware.
SELECT
    r.id,
    r.history_fingerprint,
    r.case_id,
    r.context_id,
    r.unit,
    r.commit_repo_url AS repository,
    cs.name AS case_name,
    cs.tags AS case_tags,
    ctx.tags AS context_tags,
    h.id AS hardware_id,
    h.type AS hardware_type,
    h.name AS hardware_name,
    h.hash AS hardware_hash
FROM benchmark_result AS r
JOIN "case" AS cs ON cs.id = r.case_id
JOIN context AS ctx ON ctx.id = r.context_id
JOIN hardware AS h ON h.id = r.hardware_id
WHERE r.id = ANY(%(ids)s)

-- name: get_newest_result_id_of_fingerprint
-- The newest result of a fingerprint (non-errored ones first), to head a series asked for by
-- fingerprint; None when no result has it.
-- Index: benchmark_result_history_fingerprint_index; the sort is over that series' rows.
SELECT id
FROM benchmark_result
WHERE history_fingerprint = %(fingerprint)s
ORDER BY error IS NULL DESC, timestamp DESC, id DESC
LIMIT 1
