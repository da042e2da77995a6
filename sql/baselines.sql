-- name: get_commit_by_sha
-- The commit row of a SHA in one repository. Index: commit_index (sha, repository).
SELECT *
FROM commit
WHERE sha = %(sha)s
    AND repository = %(repository)s

-- name: get_commit
-- One commit row by id. Index: commit_pkey.
SELECT *
FROM commit
WHERE id = %(id)s

-- name: get_latest_default_commit
-- The newest default-branch commit (sha = fork_point_sha) of a repository by timestamp, NULL
-- timestamps last, ties by id. Index: commit_default_branch_repo_ts_index (partial), scanned
-- backwards; the second branch only runs when no commit has a timestamp.
(
    SELECT *
    FROM commit
    WHERE repository = %(repository)s
        AND sha = fork_point_sha
        AND timestamp IS NOT NULL
    ORDER BY timestamp DESC, id DESC
    LIMIT 1
)
UNION ALL
(
    SELECT *
    FROM commit
    WHERE repository = %(repository)s
        AND sha = fork_point_sha
        AND timestamp IS NULL
    ORDER BY id DESC
    LIMIT 1
)
LIMIT 1

-- name: list_run_fingerprints
-- The distinct history fingerprints of a run's results, optionally only those on one commit
-- (the CI search keys runs by run id and commit). Index: benchmark_result_run_id_index.
SELECT DISTINCT history_fingerprint
FROM benchmark_result
WHERE run_id = %(run_id)s
    AND (%(commit_id)s::text IS NULL OR commit_id = %(commit_id)s)

-- name: get_legacy_baseline_result
-- The result that names the legacy baseline run (04 §8): on one of the ancestor commits, of
-- another run, sharing a fingerprint with the contender run, not older than the oldest ancestor
-- (upstream's speed filter); same run_reason first (NULL-safe), then branch commits, newest
-- commit, newest result, run_id descending. Each commit's best result first (the commit-level
-- keys are equal within a commit), then the best of those. Index: once per ancestor (at most 20)
-- benchmark_result_commit_id_history_fingerprint_index (migration 5; before it
-- benchmark_result_commit_id_index with the fingerprints checked against the hashed array). The
-- fingerprint index alone would list every point of a thousand series, and the date filter is
-- written `IS TRUE` so that no plan ANDs in a bitmap of benchmark_result_timestamp_index.
SELECT best.run_id, a.id AS commit_id
FROM unnest(%(commit_ids)s::text[]) AS a (id)
JOIN commit AS c ON c.id = a.id
CROSS JOIN LATERAL (
    SELECT r.run_id, r.run_reason, r.timestamp
    FROM benchmark_result AS r
    WHERE r.commit_id = a.id
        AND r.run_id <> %(run_id)s
        AND (r.timestamp >= %(earliest)s) IS TRUE
        AND r.history_fingerprint = ANY(%(fingerprints)s)
    ORDER BY
        (r.run_reason IS NOT DISTINCT FROM %(run_reason)s::text) DESC,
        r.timestamp DESC,
        r.run_id DESC
    LIMIT 1
) AS best
ORDER BY
    (best.run_reason IS NOT DISTINCT FROM %(run_reason)s::text) DESC,
    (c.sha IS DISTINCT FROM c.fork_point_sha) DESC,
    c.timestamp DESC,
    best.timestamp DESC,
    best.run_id DESC
LIMIT 1

-- name: get_ci_baseline_result
-- The newest matching result of the best CI baseline candidate run (02 §9.2): on one of the
-- ancestor commits, sharing a fingerprint with the contender run, not the contender run on its
-- own commit; same run_reason first (NULL equals NULL), newest commit, newest matching result,
-- run_id, commit id descending. Ordering rows this way equals ordering candidate runs by their
-- newest matching result; each commit's best row first, then the best of those. Index: once
-- per ancestor (at most 20) benchmark_result_commit_id_history_fingerprint_index (migration 5;
-- before it benchmark_result_commit_id_index).
SELECT best.run_id, a.id AS commit_id
FROM unnest(%(commit_ids)s::text[]) AS a (id)
JOIN commit AS c ON c.id = a.id
CROSS JOIN LATERAL (
    SELECT r.run_id, r.run_reason, r.timestamp
    FROM benchmark_result AS r
    WHERE r.commit_id = a.id
        AND NOT (r.run_id = %(run_id)s AND r.commit_id = %(commit_id)s)
        AND r.history_fingerprint = ANY(%(fingerprints)s)
    ORDER BY
        (r.run_reason IS NOT DISTINCT FROM %(run_reason)s::text) DESC,
        r.timestamp DESC,
        r.run_id DESC
    LIMIT 1
) AS best
ORDER BY
    (best.run_reason IS NOT DISTINCT FROM %(run_reason)s::text) DESC,
    c.timestamp DESC NULLS LAST,
    best.timestamp DESC,
    best.run_id DESC,
    a.id DESC
LIMIT 1
