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
-- (the CI search keys runs by run id and commit), as the text form of one array and its size:
-- the searches take it back as `%(fingerprints)s::text[]`, so 1,500 fingerprints are one string
-- each way instead of 1,500 values decoded and re-encoded in Python.
-- Index: benchmark_result_run_id_index.
SELECT
    fp.fingerprints::text AS fingerprints,
    cardinality(fp.fingerprints) AS fingerprint_count
FROM (
    SELECT ARRAY(
        SELECT DISTINCT history_fingerprint
        FROM benchmark_result
        WHERE run_id = %(run_id)s
            AND (%(commit_id)s::text IS NULL OR commit_id = %(commit_id)s)
    ) AS fingerprints
) AS fp

-- name: get_legacy_baseline_result
-- The result that names the legacy baseline run (04 §8): on one of the ancestor commits, of
-- another run, sharing a fingerprint with the contender run, not older than the oldest ancestor
-- (upstream's speed filter); same run_reason first (NULL-safe), then branch commits, newest
-- commit, newest result, run_id descending.
-- A walk that stops at the first match: steps are (same reason, then other reasons) x (groups of
-- ancestors sharing the commit-level keys, branch commits first, newest first), and each step
-- takes the best result of its commits; the first step with a result holds the answer, so
-- usually one or two ancestors are read instead of twenty. Indexes, per ancestor:
-- benchmark_result_commit_id_run_reason_index (migration 7, index only) proves that a commit has
-- no result of the contender's reason, so the same-reason steps skip such commits (a pull-request
-- run against default-branch ancestors) without reading their results; then
-- benchmark_result_commit_id_history_fingerprint_index (migration 5) lists the commit's results
-- sharing a fingerprint. `OFFSET 0` keeps those candidates a set that is sorted afterwards:
-- otherwise the planner walks benchmark_result_timestamp_index backwards for the newest result of
-- a commit, through most of the table. The date filter is written `IS TRUE` so that no plan ANDs
-- in a bitmap of benchmark_result_timestamp_index. The fingerprints are read through a scalar
-- subquery (an InitPlan, still an index condition) so that the planner does not estimate the
-- selectivity of each of up to 1,500 values: that cost 2 ms of planning per search.
WITH ancestor AS (
    SELECT
        c.sha IS DISTINCT FROM c.fork_point_sha AS on_branch,
        c.timestamp,
        array_agg(c.id) AS commit_ids
    FROM commit AS c
    WHERE c.id = ANY(%(commit_ids)s::text[])
    GROUP BY 1, 2
),
step AS (
    SELECT p.same_reason, a.on_branch, a.timestamp, a.commit_ids
    FROM (VALUES (TRUE), (FALSE)) AS p (same_reason)
    CROSS JOIN ancestor AS a
    ORDER BY p.same_reason DESC, a.on_branch DESC, a.timestamp DESC
)
SELECT best.run_id, best.commit_id
FROM step AS s
CROSS JOIN LATERAL (
    SELECT b.run_id, b.commit_id
    FROM unnest(s.commit_ids) AS g (id)
    CROSS JOIN LATERAL (
        SELECT r.run_id, r.commit_id, r.timestamp
        FROM benchmark_result AS r
        WHERE r.commit_id = g.id
            AND r.run_id <> %(run_id)s
            AND (r.timestamp >= %(earliest)s) IS TRUE
            AND r.history_fingerprint = ANY((SELECT %(fingerprints)s::text[])::text[])
            AND (r.run_reason IS NOT DISTINCT FROM %(run_reason)s::text) = s.same_reason
            AND (
                NOT s.same_reason
                OR EXISTS (
                    SELECT FROM benchmark_result AS e
                    WHERE e.commit_id = g.id
                        AND e.run_reason = %(run_reason)s::text
                )
                OR (
                    %(run_reason)s::text IS NULL
                    AND EXISTS (
                        SELECT FROM benchmark_result AS e
                        WHERE e.commit_id = g.id
                            AND e.run_reason IS NULL
                    )
                )
            )
        OFFSET 0
    ) AS b
    ORDER BY b.timestamp DESC, b.run_id DESC
    LIMIT 1
) AS best
LIMIT 1

-- name: get_ci_baseline_result
-- The newest matching result of the best CI baseline candidate run (02 §9.2): on one of the
-- ancestor commits, sharing a fingerprint with the contender run, not the contender run on its
-- own commit; same run_reason first (NULL equals NULL), newest commit, newest matching result,
-- run_id, commit id descending. Ordering rows this way equals ordering candidate runs by their
-- newest matching result. The same walk as get_legacy_baseline_result, stopping at the first
-- step with a result: steps are (same reason, then other reasons) x (groups of ancestors sharing
-- a commit timestamp, newest first, NULL last). Indexes, per ancestor:
-- benchmark_result_commit_id_run_reason_index (migration 7) to skip commits without a result of
-- the contender's reason in the same-reason steps, then
-- benchmark_result_commit_id_history_fingerprint_index (migration 5); `OFFSET 0` and the
-- fingerprints' subquery as there.
WITH ancestor AS (
    SELECT c.timestamp, array_agg(c.id) AS commit_ids
    FROM commit AS c
    WHERE c.id = ANY(%(commit_ids)s::text[])
    GROUP BY 1
),
step AS (
    SELECT p.same_reason, a.timestamp, a.commit_ids
    FROM (VALUES (TRUE), (FALSE)) AS p (same_reason)
    CROSS JOIN ancestor AS a
    ORDER BY p.same_reason DESC, a.timestamp DESC NULLS LAST
)
SELECT best.run_id, best.commit_id
FROM step AS s
CROSS JOIN LATERAL (
    SELECT b.run_id, b.commit_id
    FROM unnest(s.commit_ids) AS g (id)
    CROSS JOIN LATERAL (
        SELECT r.run_id, r.commit_id, r.timestamp
        FROM benchmark_result AS r
        WHERE r.commit_id = g.id
            AND NOT (r.run_id = %(run_id)s AND r.commit_id = %(commit_id)s)
            AND r.history_fingerprint = ANY((SELECT %(fingerprints)s::text[])::text[])
            AND (r.run_reason IS NOT DISTINCT FROM %(run_reason)s::text) = s.same_reason
            AND (
                NOT s.same_reason
                OR EXISTS (
                    SELECT FROM benchmark_result AS e
                    WHERE e.commit_id = g.id
                        AND e.run_reason = %(run_reason)s::text
                )
                OR (
                    %(run_reason)s::text IS NULL
                    AND EXISTS (
                        SELECT FROM benchmark_result AS e
                        WHERE e.commit_id = g.id
                            AND e.run_reason IS NULL
                    )
                )
            )
        OFFSET 0
    ) AS b
    ORDER BY b.timestamp DESC, b.run_id DESC, b.commit_id DESC
    LIMIT 1
) AS best
LIMIT 1
