-- name: list_distribution_rows
-- Lookback distribution rows (04 §6 step 3) of several fingerprints at once: the non-errored
-- results with a mean and a unit on the given ancestor commits, each with its SVS in the SQL form
-- of 04 §4 (rows where it is NULL are left out) and whether its begins_distribution_change
-- annotation is truthy (as Python's bool() of the JSON value); by fingerprint, result time and id
-- (the caller orders by commit time, stably).
-- Index: benchmark_result_commit_id_history_fingerprint_index (migration 5; both arrays as index
-- conditions), or a BitmapAnd of benchmark_result_commit_id_index (at most 100 ancestors) and
-- benchmark_result_history_fingerprint_index.
SELECT history_fingerprint, commit_id, result_ts, svs, begins_distribution_change
FROM (
    SELECT
        r.id,
        r.history_fingerprint,
        r.commit_id,
        r.timestamp AS result_ts,
        (
            CASE
                WHEN array_length(r.data, 1) = 1 THEN r.mean
                WHEN array_length(r.data, 1) = 2 AND r.unit LIKE '%%/s'
                    THEN greatest(r.data[1], r.data[2])
                WHEN array_length(r.data, 1) = 2 THEN least(r.data[1], r.data[2])
                WHEN r.unit LIKE '%%/s' THEN r.max
                ELSE r.min
            END
        )::float8 AS svs,
        coalesce(
            CASE jsonb_typeof(r.change_annotations -> 'begins_distribution_change')
                WHEN 'boolean' THEN (r.change_annotations ->> 'begins_distribution_change')::boolean
                WHEN 'number' THEN (r.change_annotations ->> 'begins_distribution_change')::numeric <> 0
                WHEN 'string' THEN r.change_annotations ->> 'begins_distribution_change' <> ''
                WHEN 'array' THEN jsonb_array_length(r.change_annotations -> 'begins_distribution_change') > 0
                WHEN 'object' THEN r.change_annotations -> 'begins_distribution_change' <> '{}'
            END,
            FALSE
        ) AS begins_distribution_change
    FROM benchmark_result AS r
    WHERE r.commit_id = ANY(%(commit_ids)s)
        AND r.history_fingerprint = ANY(%(fingerprints)s)
        AND r.error IS NULL
        AND r.mean IS NOT NULL
        AND r.unit IS NOT NULL
) AS rows
WHERE svs IS NOT NULL
ORDER BY history_fingerprint, result_ts, id
