-- name: get_commit_by_sha
-- The commit row of a SHA in one repository. Index: commit_index (sha, repository).
SELECT *
FROM commit
WHERE sha = %(sha)s
    AND repository = %(repository)s

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
