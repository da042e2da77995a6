-- Commit maintenance (05 §5-6): the durable default-branch backfill queue (commit_backfill_job,
-- 03 §5.7) and the repair of unknown commit rows. Timestamps are naive UTC.
-- A worker holds the session-level advisory lock (hashtext('conbench commit backfill'),
-- hashtext(job id)) while it runs a job: a running job whose lock is free lost its worker.

-- name: upsert_backfill_jobs
-- Enqueue backfills, one row of %(repositories)s, %(branches)s, %(until)s per repository: a new
-- pending job, or the repository's open job (commit_backfill_job_open_repo_key) with until_ts
-- raised. A failed job stays for inspection; the new pending row takes its place.
-- Returns the open job of each repository.
INSERT INTO commit_backfill_job AS j (
    id, repository, default_branch, until_ts, created_at, updated_at
)
SELECT
    k.id,
    k.repository,
    k.default_branch,
    k.until_ts,
    now() AT TIME ZONE 'UTC',
    now() AT TIME ZONE 'UTC'
FROM unnest(
    %(ids)s::text[], %(repositories)s::text[], %(branches)s::text[], %(until)s::timestamp[]
) AS k (id, repository, default_branch, until_ts)
ON CONFLICT (repository) WHERE status IN ('pending', 'running')
DO UPDATE SET
    until_ts = greatest(j.until_ts, excluded.until_ts),
    updated_at = excluded.updated_at
RETURNING j.id, j.repository

-- name: update_backfill_job_claimed
-- Claim the oldest claimable job (commit_backfill_job_status_index) and return it; no row:
-- nothing to do. Claimable: pending with its retry time (lease_until) reached, or running with
-- its lease expired or its worker's lock free. The claimer takes the advisory lock in the same
-- statement (`locked`; false: another session still holds it, so leave the job alone).
-- %(repositories)s, when not NULL, limits the choice.
UPDATE commit_backfill_job AS j
SET
    status = 'running',
    lease_until = now() AT TIME ZONE 'UTC' + make_interval(secs => %(lease_seconds)s),
    attempt_count = j.attempt_count + 1,
    updated_at = now() AT TIME ZONE 'UTC'
FROM (
    SELECT c.id
    FROM commit_backfill_job AS c
    WHERE (%(repositories)s::text[] IS NULL OR c.repository = ANY(%(repositories)s::text[]))
        AND (
            (c.status = 'pending'
                AND (c.lease_until IS NULL OR c.lease_until <= now() AT TIME ZONE 'UTC'))
            OR (c.status = 'running'
                AND (c.lease_until <= now() AT TIME ZONE 'UTC' OR NOT EXISTS (
                    SELECT
                    FROM pg_locks AS l
                    WHERE l.locktype = 'advisory'
                        AND l.database = (
                            SELECT oid FROM pg_database WHERE datname = current_database()
                        )
                        AND l.classid = hashtext('conbench commit backfill')::oid
                        AND l.objid = hashtext(c.id)::oid
                        AND l.objsubid = 2
                        AND l.granted
                )))
        )
    ORDER BY c.status, c.created_at
    LIMIT 1
    FOR UPDATE SKIP LOCKED
) AS chosen
WHERE j.id = chosen.id
RETURNING
    j.id,
    j.repository,
    j.default_branch,
    j.until_ts,
    j.attempt_count,
    pg_try_advisory_lock(hashtext('conbench commit backfill'), hashtext(j.id)) AS locked

-- name: update_backfill_lease
-- Extend the lease of a running job after each page; 0 rows: the job is no longer ours.
UPDATE commit_backfill_job
SET
    lease_until = now() AT TIME ZONE 'UTC' + make_interval(secs => %(lease_seconds)s),
    updated_at = now() AT TIME ZONE 'UTC'
WHERE id = %(id)s
    AND status = 'running'

-- name: get_backfill_since
-- The newest tracked default-branch commit of the branch before %(until_ts)s, NULL if none
-- (commit_default_branch_repo_ts_index).
SELECT max(c."timestamp") AS since
FROM commit AS c
WHERE c.repository = %(repository)s
    AND c.sha = c.fork_point_sha
    AND c.branch = %(branch)s
    AND c."timestamp" IS NOT NULL
    AND c."timestamp" < %(until_ts)s

-- name: insert_backfill_commits
-- Store a batch of default-branch commits, %(commits)s a JSON array of commit rows; rows whose
-- (sha, repository) exists are skipped (commit_index). Returns the ids inserted.
INSERT INTO commit
SELECT *
FROM json_populate_recordset(NULL::commit, %(commits)s::json)
ON CONFLICT (sha, repository) DO NOTHING
RETURNING id

-- name: update_backfill_job_done
-- Finish a job that fetched up to %(until_ts)s: done, or pending again (attempts reset) when a
-- newer commit raised until_ts meanwhile. Returns the new status; no row: no longer running.
UPDATE commit_backfill_job
SET
    status = CASE WHEN until_ts > %(until_ts)s THEN 'pending' ELSE 'done' END,
    attempt_count = CASE WHEN until_ts > %(until_ts)s THEN 0 ELSE attempt_count END,
    inserted_commits = inserted_commits + %(inserted)s,
    lease_until = NULL,
    last_error = NULL,
    updated_at = now() AT TIME ZONE 'UTC'
WHERE id = %(id)s
    AND status = 'running'
RETURNING status

-- name: update_backfill_job_failed
-- Record a failed attempt: pending again after %(retry_seconds)s (lease_until is the retry
-- time), or failed once %(max_attempts)s attempts were made.
UPDATE commit_backfill_job
SET
    status = CASE WHEN attempt_count >= %(max_attempts)s THEN 'failed' ELSE 'pending' END,
    lease_until = CASE
        WHEN attempt_count >= %(max_attempts)s THEN NULL
        ELSE now() AT TIME ZONE 'UTC' + make_interval(secs => %(retry_seconds)s)
    END,
    last_error = %(error)s,
    updated_at = now() AT TIME ZONE 'UTC'
WHERE id = %(id)s
    AND status = 'running'

-- name: update_backfill_job_released
-- Give a running job back on shutdown: pending at once, lease cleared, the attempt not counted.
UPDATE commit_backfill_job
SET
    status = 'pending',
    lease_until = NULL,
    attempt_count = greatest(attempt_count - 1, 0),
    updated_at = now() AT TIME ZONE 'UTC'
WHERE id = %(id)s
    AND status = 'running'

-- name: get_backfill_unlock
-- Release this session's advisory lock of a job.
SELECT pg_advisory_unlock(hashtext('conbench commit backfill'), hashtext(%(id)s)) AS unlocked

-- name: list_backfill_jobs
-- The jobs %(ids)s (commit_backfill_job_pkey).
SELECT id, repository, status, attempt_count, last_error, inserted_commits
FROM commit_backfill_job
WHERE id = ANY(%(ids)s::text[])

-- name: list_unknown_commits
-- Unknown commit rows (03 §2.4) ordered by (repository, sha) after the cursor
-- (%(after_repository)s, %(after_sha)s), at most %(limit)s; %(repository)s, when not NULL,
-- filters. No index covers unknown rows: a sequential scan of commit, run by an operator.
SELECT id, sha, repository
FROM commit
WHERE "timestamp" IS NULL
    AND fork_point_sha IS NULL
    AND (%(repository)s::text IS NULL OR repository = %(repository)s::text)
    AND (
        %(after_repository)s::text IS NULL
        OR (repository, sha) > (%(after_repository)s::text, %(after_sha)s::text)
    )
ORDER BY repository, sha
LIMIT %(limit)s

-- name: update_repaired_commit
-- Fill an unknown commit row in place (commit_pkey); 0 rows: it was repaired meanwhile.
UPDATE commit
SET
    parent = %(parent)s,
    message = %(message)s,
    author_name = %(author_name)s,
    author_login = %(author_login)s,
    author_avatar = %(author_avatar)s,
    "timestamp" = %(timestamp)s,
    branch = %(branch)s,
    fork_point_sha = %(fork_point_sha)s
WHERE id = %(id)s
    AND "timestamp" IS NULL
    AND fork_point_sha IS NULL
