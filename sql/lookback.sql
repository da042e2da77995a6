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


-- name: list_cached_distributions
-- Stored lookback distributions (migration 6) of several fingerprints at one baseline commit, as
-- long as the commit row still says what the caller's copy of it says (the ancestry columns of
-- 04 §8): a caller holding an older copy computes instead. Index: lookback_distribution_pkey
-- (commit_id, history_fingerprint), then commit_pkey.
SELECT d.history_fingerprint, d.dist_mean, d.dist_std
FROM lookback_distribution AS d
JOIN commit AS c ON c.id = d.commit_id
WHERE d.commit_id = %(commit_id)s
    AND d.history_fingerprint = ANY(%(fingerprints)s)
    AND c.sha = %(sha)s
    AND c.repository = %(repository)s
    AND c.timestamp = %(timestamp)s
    AND c.branch IS NOT DISTINCT FROM %(branch)s
    AND c.fork_point_sha IS NOT DISTINCT FROM %(fork_point_sha)s

-- name: list_commit_distributions
-- Every stored lookback distribution at one baseline commit, under the same check of the
-- caller's copy of the commit as list_cached_distributions: for callers that want thousands of
-- fingerprints (a CI report) and filter the rows themselves, rather than send and plan an array of
-- thousands. Index: lookback_distribution_pkey (commit_id, history_fingerprint) as a range of
-- one commit, then commit_pkey.
SELECT d.history_fingerprint, d.dist_mean, d.dist_std
FROM lookback_distribution AS d
JOIN commit AS c ON c.id = d.commit_id
WHERE d.commit_id = %(commit_id)s
    AND c.sha = %(sha)s
    AND c.repository = %(repository)s
    AND c.timestamp = %(timestamp)s
    AND c.branch IS NOT DISTINCT FROM %(branch)s
    AND c.fork_point_sha IS NOT DISTINCT FROM %(fork_point_sha)s

-- name: get_cache_state
-- What storing computed distributions needs, read in one snapshot before anything is computed:
-- the baseline commit row (to check the caller's copy), its fork point's timestamp (the window's
-- upper bound) and the epochs of %(keys)s (absent keys are left out). Index: commit_pkey,
-- commit_index (sha, repository), lookback_epoch_pkey.
SELECT
    c.sha,
    c.repository,
    c.timestamp,
    c.branch,
    c.fork_point_sha,
    fp.timestamp AS fork_point_ts,
    e.keys,
    e.epochs
FROM commit AS c
LEFT JOIN commit AS fp ON fp.sha = c.fork_point_sha AND fp.repository = c.repository
CROSS JOIN (
    SELECT array_agg(key) AS keys, array_agg(epoch) AS epochs
    FROM lookback_epoch
    WHERE key = ANY(%(keys)s)
) AS e
WHERE c.id = %(commit_id)s

-- name: insert_distributions
-- Store computed distributions of one baseline commit, only those whose epochs (the
-- fingerprint's and the repository's, %(keys)s with %(epochs)s as read by get_cache_state) are
-- unchanged. The epoch rows are locked FOR SHARE until the statement commits: a writer that
-- bumps one meanwhile waits, then its trigger deletes what this stored; rows a writer holds are
-- skipped, never waited for. Rows already stored are kept. Index: lookback_epoch_pkey,
-- lookback_distribution_pkey.
WITH unchanged AS MATERIALIZED (
    SELECT e.key
    FROM lookback_epoch AS e
    JOIN unnest(%(keys)s::text[], %(epochs)s::bigint[]) AS x (key, epoch)
        ON x.key = e.key AND x.epoch = e.epoch
    FOR SHARE OF e SKIP LOCKED
)
INSERT INTO lookback_distribution (
    commit_id, history_fingerprint, dist_mean, dist_std, repository, on_default_branch,
    full_window, window_min_ts, window_max_ts, computed_at
)
SELECT
    %(commit_id)s,
    v.fingerprint,
    v.dist_mean,
    v.dist_std,
    %(repository)s,
    %(on_default_branch)s,
    %(full_window)s,
    %(window_min_ts)s,
    %(window_max_ts)s,
    now() AT TIME ZONE 'UTC'
FROM unnest(%(fingerprints)s::text[], %(means)s::float8[], %(stds)s::float8[])
    AS v (fingerprint, dist_mean, dist_std)
WHERE v.fingerprint IN (SELECT key FROM unchanged)
    AND %(repository_key)s IN (SELECT key FROM unchanged)
ORDER BY v.fingerprint
ON CONFLICT DO NOTHING

-- name: insert_missing_epochs
-- Epoch rows for keys that have none (data loaded with triggers disabled), so that the next
-- request can store; waits at most 100 ms for a writer creating the same key (the function's
-- lock_timeout). Index: lookback_epoch_pkey.
SELECT lookback_create_epochs(%(keys)s::text[]) AS created

-- name: exists_repository
-- Whether any commit row belongs to %(repository)s (`conbench admin lookback warm
-- --repository`). Index: commit_default_branch_repo_ts_index when the repository has
-- default-branch commits, else a scan of commit (a small table).
SELECT EXISTS (
    SELECT 1
    FROM commit
    WHERE repository = %(repository)s
) AS found

-- name: list_warm_commits
-- The baseline commits `conbench admin lookback warm` fills, newest first per repository: the
-- %(commits)s newest default-branch commits of each repository (or of %(repository)s), and the
-- fork points of the branch commits at least as new as the oldest of those (the CI report's
-- default baseline). Only commits with a timestamp (others have no ancestry). Index:
-- commit_default_branch_repo_ts_index scanned backwards per repository; the branch commits and
-- the distinct repositories come from a scan of commit (a small table), the fork points from
-- commit_index (sha, repository).
WITH newest AS (
    SELECT n.id, n.repository, n.timestamp
    FROM (
        SELECT DISTINCT repository
        FROM commit
        WHERE %(repository)s::text IS NULL OR repository = %(repository)s
    ) AS r
    CROSS JOIN LATERAL (
        SELECT c.id, c.repository, c.timestamp
        FROM commit AS c
        WHERE c.repository = r.repository
            AND c.sha = c.fork_point_sha
            AND c.timestamp IS NOT NULL
        ORDER BY c.timestamp DESC, c.id DESC
        LIMIT %(commits)s
    ) AS n
),
fork_points AS (
    SELECT fp.id
    FROM (
        SELECT repository, min(timestamp) AS since
        FROM newest
        GROUP BY repository
    ) AS o
    JOIN commit AS b
        ON b.repository = o.repository
        AND b.sha <> b.fork_point_sha
        AND b.timestamp >= o.since
    JOIN commit AS fp ON fp.sha = b.fork_point_sha AND fp.repository = b.repository
    WHERE fp.timestamp IS NOT NULL
)
SELECT c.*
FROM commit AS c
WHERE c.id IN (SELECT id FROM newest UNION SELECT id FROM fork_points)
ORDER BY c.repository, c.timestamp DESC, c.id DESC

-- name: list_commit_fingerprints
-- The fingerprints that have results on one commit: what a CI report or a compare with this
-- baseline commit asks lookback distributions for. Index:
-- benchmark_result_commit_id_history_fingerprint_index (an index-only scan of one commit).
SELECT DISTINCT history_fingerprint
FROM benchmark_result
WHERE commit_id = %(commit_id)s
ORDER BY history_fingerprint

-- name: count_stored_distributions
-- How many of %(fingerprints)s have a stored distribution at one baseline commit, whatever the
-- commit row says now (the warm command's before/after count). Index: lookback_distribution_pkey.
SELECT count(*) AS stored
FROM lookback_distribution
WHERE commit_id = %(commit_id)s
    AND history_fingerprint = ANY(%(fingerprints)s)

-- name: get_prune_cutoff
-- The database's UTC clock minus %(days)s days: `computed_at` is stored from the same clock.
SELECT (now() AT TIME ZONE 'UTC') - make_interval(secs => %(days)s::float8 * 86400) AS cutoff

-- name: list_prunable_commits
-- Baseline commits with stored distributions computed before %(cutoff)s, with their count.
-- No index: one sequential scan of lookback_distribution, on purpose. Pruning is rare (a nightly
-- or weekly job) and only reads here; an index on computed_at would cost every store.
SELECT commit_id, count(*) AS old_rows
FROM lookback_distribution
WHERE computed_at < %(cutoff)s
GROUP BY commit_id
ORDER BY commit_id

-- name: delete_old_distributions
-- Delete at most %(limit)s distributions of one baseline commit computed before %(cutoff)s, in
-- fingerprint order; the caller repeats until fewer come back, one short transaction each, so no
-- lock is held for long. Index: lookback_distribution_pkey (commit_id, history_fingerprint).
DELETE FROM lookback_distribution AS d
WHERE d.commit_id = %(commit_id)s
    AND d.history_fingerprint IN (
        SELECT o.history_fingerprint
        FROM lookback_distribution AS o
        WHERE o.commit_id = %(commit_id)s
            AND o.computed_at < %(cutoff)s
        ORDER BY o.history_fingerprint
        LIMIT %(limit)s
    )
    AND d.computed_at < %(cutoff)s

-- name: insert_current_epochs
-- Epoch rows (epoch 0) for every fingerprint with results and every repository with commits, as
-- migration 6 creates them for existing data: for data loaded with triggers disabled
-- (scripts/bench/dataset.py). Existing epochs are kept. Index: a scan of
-- benchmark_result_history_fingerprint_index and of commit, lookback_epoch_pkey.
INSERT INTO lookback_epoch (key, epoch)
SELECT key, 0
FROM (
    SELECT DISTINCT history_fingerprint AS key
    FROM benchmark_result
    UNION
    SELECT DISTINCT 'repo:' || repository
    FROM commit
) AS keys
ON CONFLICT (key) DO NOTHING

-- name: delete_all_distributions
-- Forget every stored distribution (after a load that bypassed the triggers); rows are
-- recomputed on demand. Index: none (the whole table).
DELETE FROM lookback_distribution
