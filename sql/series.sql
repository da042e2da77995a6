-- Series browse (02 §6). A series is a history fingerprint; its points are the members of 04 §9
-- (non-failed results on default-branch commits with a timestamp, SVS per the SQL form of 04 §4).
-- Pages are ordered by the commit of each series' newest point, newest first, then fingerprint.

-- name: list_hardware_ids
-- Hardware rows whose name or hash is the `hardware` filter.
-- Index: none; hardware is a small dimension table (one row per machine), scanned whole.
SELECT id
FROM hardware
WHERE name = %(hardware)s
    OR hash = %(hardware)s

-- name: list_case_ids_matching
-- Up to `limit` cases whose benchmark name contains the search text (`pattern` is an escaped
-- ILIKE pattern); the caller asks for one more than the narrow bound to tell narrow from broad.
-- Index: none; case is a dimension table (thousands of rows), scanned whole.
SELECT id
FROM "case"
WHERE name ILIKE %(pattern)s
ORDER BY id
LIMIT %(limit)s

-- name: list_default_branch_repositories
-- Every repository with a default-branch commit, by a skip scan: one probe per repository.
-- Index: commit_default_branch_repo_ts_index (repository, timestamp) WHERE sha = fork_point_sha.
WITH RECURSIVE repo AS (
    (
        SELECT c.repository
        FROM commit AS c
        WHERE c.sha = c.fork_point_sha
        ORDER BY c.repository
        LIMIT 1
    )
    UNION ALL
    SELECT (
        SELECT c.repository
        FROM commit AS c
        WHERE c.sha = c.fork_point_sha
            AND c.repository > repo.repository
        ORDER BY c.repository
        LIMIT 1
    )
    FROM repo
    WHERE repo.repository IS NOT NULL
)
SELECT repository
FROM repo
WHERE repository IS NOT NULL

-- name: list_window_commits
-- The browse window: the newest `limit` default-branch commits (with a timestamp, at or before
-- `until` when given: a result never predates its commit's author date) of these repositories
-- that carry a non-errored result, newest first.
-- Index: commit_default_branch_repo_ts_index scanned backwards per repository (stopping at
-- `limit`), each commit checked with one probe of benchmark_result_commit_id_index; the
-- per-repository lists are merged and cut to `limit`.
SELECT w.id, w.timestamp
FROM unnest(%(repositories)s::text[]) AS repo (name)
CROSS JOIN LATERAL (
    SELECT c.id, c.timestamp
    FROM commit AS c
    WHERE c.repository = repo.name
        AND c.sha = c.fork_point_sha
        AND c.timestamp IS NOT NULL
        AND (%(until)s::timestamp IS NULL OR c.timestamp <= %(until)s)
        AND EXISTS (
            SELECT 1
            FROM benchmark_result AS r
            WHERE r.commit_id = c.id
                AND r.error IS NULL
        )
    ORDER BY c.timestamp DESC, c.id DESC
    LIMIT %(limit)s
) AS w
ORDER BY w.timestamp DESC, w.id DESC
LIMIT %(limit)s

-- name: list_commit_fingerprints
-- The fingerprints (sorted, one array per commit: cheap to transfer) with a member on each of a
-- batch of window commits, after the row filters (hardware ids, a broad benchmark-name pattern,
-- the result time window). The walk reads the window newest commit first, a batch at a time,
-- and stops once the page is full.
-- Index: benchmark_result_commit_id_index (a few thousand rows per commit); case_id through a
-- hashed subplan over case. Executed unprepared so the planner sees which filters are set.
SELECT
    r.commit_id,
    array_agg(DISTINCT r.history_fingerprint ORDER BY r.history_fingerprint) AS fingerprints
FROM benchmark_result AS r
WHERE r.commit_id = ANY(%(commit_ids)s)
    AND r.error IS NULL
    AND r.unit IS NOT NULL
    AND cardinality(r.data) > 0
    AND array_position(r.data, NULL) IS NULL
    AND (
        CASE
            WHEN array_length(r.data, 1) = 1 THEN r.mean
            WHEN array_length(r.data, 1) = 2 AND r.unit LIKE '%%/s'
                THEN greatest(r.data[1], r.data[2])
            WHEN array_length(r.data, 1) = 2 THEN least(r.data[1], r.data[2])
            WHEN r.unit LIKE '%%/s' THEN r.max
            ELSE r.min
        END
    ) IS NOT NULL
    AND (%(hardware_ids)s::text[] IS NULL OR r.hardware_id = ANY(%(hardware_ids)s))
    AND (
        %(case_pattern)s::text IS NULL
        OR r.case_id IN (SELECT cs.id FROM "case" AS cs WHERE cs.name ILIKE %(case_pattern)s)
    )
    AND (%(since)s::timestamp IS NULL OR r.timestamp >= %(since)s)
    AND (%(until)s::timestamp IS NULL OR r.timestamp <= %(until)s)
GROUP BY r.commit_id

-- name: list_exact_series
-- Without a window: each series of one fingerprint and/or a few cases (a narrow search; a broad
-- one only next to a fingerprint) with the commit of its newest member passing the filters, in
-- page order after the cursor.
-- Index: benchmark_result_history_fingerprint_index or benchmark_result_case_id_index (at most
-- 64 cases), materialized first (the planner underestimates `sha = fork_point_sha` and would
-- loop over every default-branch commit instead), then commit_pkey per row. Executed unprepared
-- so the planner sees which filter is set.
WITH candidate AS MATERIALIZED (
    SELECT r.history_fingerprint, r.commit_id
    FROM benchmark_result AS r
    WHERE (%(fingerprint)s::text IS NULL OR r.history_fingerprint = %(fingerprint)s)
        AND (%(case_ids)s::text[] IS NULL OR r.case_id = ANY(%(case_ids)s))
        AND (
            %(case_pattern)s::text IS NULL
            OR r.case_id IN (SELECT cs.id FROM "case" AS cs WHERE cs.name ILIKE %(case_pattern)s)
        )
        AND r.error IS NULL
        AND r.unit IS NOT NULL
        AND cardinality(r.data) > 0
        AND array_position(r.data, NULL) IS NULL
        AND (
            CASE
                WHEN array_length(r.data, 1) = 1 THEN r.mean
                WHEN array_length(r.data, 1) = 2 AND r.unit LIKE '%%/s'
                    THEN greatest(r.data[1], r.data[2])
                WHEN array_length(r.data, 1) = 2 THEN least(r.data[1], r.data[2])
                WHEN r.unit LIKE '%%/s' THEN r.max
                ELSE r.min
            END
        ) IS NOT NULL
        AND (%(hardware_ids)s::text[] IS NULL OR r.hardware_id = ANY(%(hardware_ids)s))
        AND (%(since)s::timestamp IS NULL OR r.timestamp >= %(since)s)
        AND (%(until)s::timestamp IS NULL OR r.timestamp <= %(until)s)
)
SELECT latest.history_fingerprint, latest.commit_id, latest.commit_timestamp
FROM (
    SELECT DISTINCT ON (candidate.history_fingerprint)
        candidate.history_fingerprint,
        c.id AS commit_id,
        c.timestamp AS commit_timestamp
    FROM candidate
    JOIN commit AS c ON c.id = candidate.commit_id
    WHERE c.sha = c.fork_point_sha
        AND c.timestamp IS NOT NULL
        AND (%(repository)s::text IS NULL OR c.repository = %(repository)s)
    ORDER BY candidate.history_fingerprint, c.timestamp DESC, c.id DESC
) AS latest
WHERE %(cursor_ts)s::timestamp IS NULL
    OR latest.commit_timestamp < %(cursor_ts)s
    OR (latest.commit_timestamp = %(cursor_ts)s AND latest.commit_id < %(cursor_commit)s)
    OR (
        latest.commit_timestamp = %(cursor_ts)s
        AND latest.commit_id = %(cursor_commit)s
        AND latest.history_fingerprint > %(cursor_fingerprint)s
    )
ORDER BY latest.commit_timestamp DESC, latest.commit_id DESC, latest.history_fingerprint
LIMIT %(limit)s

-- name: list_series_members
-- The newest `per_series` members of each fingerprint (oldest first within a fingerprint) and
-- every fingerprint's total member count: what status, sparkline and the latest point need.
-- Two steps, so that only the kept members are read from the table:
-- 1. per fingerprint, index only over benchmark_result_series_member_index (migration 7: partial
--    on the member row conditions below, keys (history_fingerprint, commit_id)) joined to the
--    default-branch commits (commit_pkey, memoized): the member count, and the commits of the
--    newest `per_series` members by commit timestamp, with ties (a superset of the kept members:
--    members sharing the boundary commit timestamp are ordered by their own columns below);
-- 2. those members' rows by benchmark_result_series_member_index (fingerprint, commit) and the
--    exact order (commit timestamp, result timestamp, id, newest first) over them alone.
-- The row conditions repeat the index predicate word for word (the planner proves the partial
-- index from them). SVS as float8 (exact for stored values, cheap to decode).
WITH recent AS (
    SELECT f.fingerprint, m.commit_id, m.commit_sha, m.commit_timestamp, m.point_count
    FROM unnest(%(fingerprints)s::text[]) AS f (fingerprint)
    CROSS JOIN LATERAL (
        SELECT
            r.commit_id,
            c.sha AS commit_sha,
            c.timestamp AS commit_timestamp,
            count(*) OVER () AS point_count
        FROM benchmark_result AS r
        JOIN commit AS c ON c.id = r.commit_id
        WHERE r.history_fingerprint = f.fingerprint
            AND c.sha = c.fork_point_sha
            AND c.timestamp IS NOT NULL
            AND r.commit_id IS NOT NULL
            AND r.error IS NULL
            AND r.unit IS NOT NULL
            AND cardinality(r.data) > 0
            AND array_position(r.data, NULL) IS NULL
            AND (
                CASE
                    WHEN array_length(r.data, 1) = 1 THEN r.mean
                    WHEN array_length(r.data, 1) = 2 AND r.unit LIKE '%%/s'
                        THEN greatest(r.data[1], r.data[2])
                    WHEN array_length(r.data, 1) = 2 THEN least(r.data[1], r.data[2])
                    WHEN r.unit LIKE '%%/s' THEN r.max
                    ELSE r.min
                END
            ) IS NOT NULL
        ORDER BY c.timestamp DESC
        FETCH FIRST %(per_series)s ROWS WITH TIES
    ) AS m
)
SELECT
    ranked.history_fingerprint,
    ranked.id,
    ranked.unit,
    ranked.result_timestamp,
    ranked.begins_distribution_change,
    ranked.svs,
    ranked.commit_sha,
    ranked.commit_timestamp,
    ranked.point_count
FROM (
    SELECT
        r.history_fingerprint,
        r.id,
        r.unit,
        r.timestamp AS result_timestamp,
        r.change_annotations -> 'begins_distribution_change' AS begins_distribution_change,
        CASE
            WHEN array_length(r.data, 1) = 1 THEN r.mean
            WHEN array_length(r.data, 1) = 2 AND r.unit LIKE '%%/s'
                THEN greatest(r.data[1], r.data[2])
            WHEN array_length(r.data, 1) = 2 THEN least(r.data[1], r.data[2])
            WHEN r.unit LIKE '%%/s' THEN r.max
            ELSE r.min
        END::float8 AS svs,
        recent.commit_sha,
        recent.commit_timestamp,
        row_number() OVER (
            PARTITION BY r.history_fingerprint
            ORDER BY recent.commit_timestamp DESC, r.timestamp DESC, r.id DESC
        ) AS recency,
        recent.point_count
    FROM (SELECT DISTINCT * FROM recent) AS recent
    JOIN benchmark_result AS r
        ON r.history_fingerprint = recent.fingerprint
        AND r.commit_id = recent.commit_id
    WHERE r.commit_id IS NOT NULL
        AND r.error IS NULL
        AND r.unit IS NOT NULL
        AND cardinality(r.data) > 0
        AND array_position(r.data, NULL) IS NULL
        AND (
            CASE
                WHEN array_length(r.data, 1) = 1 THEN r.mean
                WHEN array_length(r.data, 1) = 2 AND r.unit LIKE '%%/s'
                    THEN greatest(r.data[1], r.data[2])
                WHEN array_length(r.data, 1) = 2 THEN least(r.data[1], r.data[2])
                WHEN r.unit LIKE '%%/s' THEN r.max
                ELSE r.min
            END
        ) IS NOT NULL
) AS ranked
WHERE ranked.recency <= %(per_series)s
ORDER BY
    ranked.history_fingerprint,
    ranked.commit_timestamp,
    ranked.result_timestamp,
    ranked.id
