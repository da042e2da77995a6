-- name: get_fork_point_commit
-- The fork-point commit of a branch commit: the row of its fork_point_sha in its repository.
-- Index: commit_index (sha, repository).
SELECT id, sha, timestamp
FROM commit
WHERE sha = %(fork_point_sha)s
    AND repository = %(repository)s

-- name: list_ancestors
-- The ancestry of a commit (04 §8), newest first in "git log" order: the branch's own commits up
-- to the commit's timestamp (only when it is off the default branch), then the default-branch
-- commits up to the fork point's timestamp; ties by id descending; at most `limit` rows.
-- Index: commit_default_branch_repo_ts_index (partial on sha = fork_point_sha) scanned backwards
-- from the fork point's timestamp; the branch part filters the repository's commits (commit is a
-- small table, and a branch holds few commits).
SELECT id, sha, timestamp, on_default_branch
FROM (
    (
        SELECT id, sha, timestamp, FALSE AS on_default_branch
        FROM commit
        WHERE %(off_default_branch)s
            AND repository = %(repository)s
            AND branch = %(branch)s
            AND fork_point_sha = %(fork_point_sha)s
            AND timestamp <= %(timestamp)s
        ORDER BY timestamp DESC, id DESC
        LIMIT %(limit)s
    )
    UNION ALL
    (
        SELECT id, sha, timestamp, TRUE AS on_default_branch
        FROM commit
        WHERE repository = %(repository)s
            AND sha = fork_point_sha
            AND timestamp <= %(fork_point_timestamp)s
        ORDER BY timestamp DESC, id DESC
        LIMIT %(limit)s
    )
) AS ancestry
ORDER BY on_default_branch, timestamp DESC, id DESC
LIMIT %(limit)s
