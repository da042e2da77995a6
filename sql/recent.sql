-- name: list_recent_run_keys
-- The newest runs at or below a timestamp (02 §5): one row per run, in order of its newest result's
-- timestamp descending (ties in index order), with that timestamp and result id. A recursive walk reads
-- benchmark_result by timestamp descending; each step resumes at the timestamp where the previous
-- one stopped and skips the rows of runs already seen (`seen` starts with the runs an earlier page
-- listed at that timestamp), and the walk stops after page_size runs or once scan_limit rows were
-- read in all (rows re-read at a shared timestamp count again, so the bound holds). With a cursor,
-- a run having a result after the cursor timestamp was listed on an earlier page: it is remembered
-- as seen but not returned. Index: benchmark_result_timestamp_index scanned backwards, no sort;
-- the earlier-page test probes benchmark_result_run_id_index.
-- Cost: a step reads the rest of the previous run's rows (their heap tuples) and nothing else. The
-- newest run found goes first in `seen`, so a skipped row usually costs one comparison. A step's
-- position (rows it read up to the run found) is counted afterwards instead of numbering every row
-- it reads: an index-only count of the newer timestamps (benchmark_result_timestamp_index), plus
-- the found row's place among the rows sharing its timestamp, numbered by the same backward scan
-- started at that timestamp (the index order of ties is not the ctid order; usually the found row
-- comes first). The limits are clamped at zero so that a miscount could never be an error.
WITH RECURSIVE walk AS (
    SELECT
        0 AS step,
        NULL::text AS run_id,
        NULL::text AS id,
        FALSE AS fresh,
        %(after_ts)s::timestamp AS ts,
        %(seen)s::text[] AS seen,
        0::bigint AS scanned,
        0 AS found
    UNION ALL
    SELECT
        w.step + 1,
        nxt.run_id,
        nxt.id,
        nxt.fresh,
        nxt.timestamp,
        nxt.run_id || w.seen,
        w.scanned + pos.newer + pos.tied,
        w.found + nxt.fresh::int
    FROM walk AS w
    CROSS JOIN LATERAL (
        SELECT
            s.run_id,
            s.id,
            s.timestamp,
            earlier.found IS NULL AS fresh
        FROM (
            SELECT
                r.run_id,
                r.id,
                r.timestamp,
                r.commit_repo_url
            FROM benchmark_result AS r
            WHERE r.timestamp <= w.ts
            ORDER BY r.timestamp DESC
            LIMIT greatest(%(scan_limit)s - w.scanned, 0)
        ) AS s
        LEFT JOIN LATERAL (
            SELECT TRUE AS found
            FROM benchmark_result AS e
            WHERE e.run_id = s.run_id
                AND e.timestamp > %(cursor_ts)s
            LIMIT 1
        ) AS earlier ON TRUE
        WHERE s.run_id <> ALL(w.seen)
            AND (%(repository)s::text IS NULL OR s.commit_repo_url = %(repository)s)
        LIMIT 1
    ) AS nxt
    CROSS JOIN LATERAL (
        SELECT
            (
                SELECT count(*)
                FROM benchmark_result AS a
                WHERE a.timestamp <= w.ts
                    AND a.timestamp > nxt.timestamp
            ) AS newer,
            (
                SELECT t.position
                FROM (
                    SELECT
                        r.id,
                        row_number() OVER (ORDER BY r.timestamp DESC) AS position
                    FROM benchmark_result AS r
                    WHERE r.timestamp <= nxt.timestamp
                    ORDER BY r.timestamp DESC
                    LIMIT greatest(%(scan_limit)s - w.scanned, 0)
                ) AS t
                WHERE t.id = nxt.id
                LIMIT 1
            ) AS tied
    ) AS pos
    WHERE w.found < %(page_size)s
)
SELECT run_id, id, ts AS timestamp
FROM walk
WHERE fresh
ORDER BY step

-- name: list_run_summaries
-- Exact aggregates of the given runs, in the order given: counts, first and last result
-- timestamps and the five most recent batch ids, from one pass over each run's rows (hashed by
-- batch); plus run metadata, hardware and commit from the given sample result of each run.
-- Index: benchmark_result_run_id_index (one probe per run); benchmark_result_pkey for the sample;
-- hardware_pkey, commit_pkey.
SELECT
    k.run_id,
    agg.result_count,
    agg.errored_count,
    agg.first_result_timestamp,
    agg.last_result_timestamp,
    coalesce(agg.batch_ids[1:5], '{}') AS batch_ids,
    sample.id AS sample_result_id,
    sample.run_reason,
    sample.run_tags,
    sample.commit_repo_url,
    jsonb_build_object('id', h.id, 'type', h.type, 'name', h.name, 'hash', h.hash) AS hardware,
    CASE WHEN c.id IS NULL THEN NULL ELSE to_jsonb(c) END AS commit
FROM unnest(%(run_ids)s::text[], %(sample_ids)s::text[]) WITH ORDINALITY AS k(run_id, sample_id, ord)
CROSS JOIN LATERAL (
    SELECT
        sum(b.result_count)::int AS result_count,
        sum(b.errored_count)::int AS errored_count,
        min(b.first_ts) AS first_result_timestamp,
        max(b.last_ts) AS last_result_timestamp,
        array_agg(b.batch_id ORDER BY b.last_ts DESC, b.batch_id DESC)
            FILTER (WHERE b.batch_id IS NOT NULL) AS batch_ids
    FROM (
        SELECT
            r.batch_id,
            count(*) AS result_count,
            count(r.error) AS errored_count,
            min(r.timestamp) AS first_ts,
            max(r.timestamp) AS last_ts
        FROM benchmark_result AS r
        WHERE r.run_id = k.run_id
        GROUP BY r.batch_id
    ) AS b
) AS agg
JOIN benchmark_result AS sample ON sample.id = k.sample_id
JOIN hardware AS h ON h.id = sample.hardware_id
LEFT JOIN commit AS c ON c.id = sample.commit_id
ORDER BY k.ord
