-- Durable default-branch backfill queue (spec 03 §5.7, semantics in 05 §5): at most one open
-- (pending or running) job per repository, enforced by a partial unique index that the enqueue
-- upsert targets.

CREATE TABLE IF NOT EXISTS public.commit_backfill_job (
    id character varying(50) NOT NULL,
    repository text NOT NULL,
    default_branch text NOT NULL,
    until_ts timestamp without time zone NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    attempt_count integer DEFAULT 0 NOT NULL,
    lease_until timestamp without time zone,
    last_error text,
    inserted_commits integer DEFAULT 0 NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    CONSTRAINT commit_backfill_job_pkey PRIMARY KEY (id),
    CONSTRAINT commit_backfill_job_status_check
        CHECK (status IN ('pending', 'running', 'done', 'failed'))
);

CREATE UNIQUE INDEX IF NOT EXISTS commit_backfill_job_open_repo_key
    ON public.commit_backfill_job USING btree (repository)
    WHERE status IN ('pending', 'running');

CREATE INDEX IF NOT EXISTS commit_backfill_job_status_index
    ON public.commit_backfill_job USING btree (status, created_at);

-- conbench:verify
SELECT format('missing %s %s', expected.kind, expected.name) AS problem
FROM (
    VALUES
        ('table', 'commit_backfill_job', to_regclass('public.commit_backfill_job') IS NOT NULL),
        ('validated constraint', 'commit_backfill_job_status_check', EXISTS (
            SELECT FROM pg_constraint
            WHERE conrelid = to_regclass('public.commit_backfill_job')
              AND conname = 'commit_backfill_job_status_check'
              AND convalidated)),
        ('unique index', 'commit_backfill_job_open_repo_key', EXISTS (
            SELECT FROM pg_index
            WHERE indexrelid = to_regclass('public.commit_backfill_job_open_repo_key')
              AND indisunique
              AND indisvalid)),
        ('index', 'commit_backfill_job_status_index',
            to_regclass('public.commit_backfill_job_status_index') IS NOT NULL)
) AS expected (kind, name, present)
WHERE NOT expected.present
