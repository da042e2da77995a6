-- Default-branch commits by repository and author date (spec 03 §5.8): serves ancestry and
-- `latest_default` lookups. Built CONCURRENTLY so that commit stays writable meanwhile.
-- conbench:no-transaction

CREATE INDEX CONCURRENTLY IF NOT EXISTS commit_default_branch_repo_ts_index
    ON public.commit USING btree (repository, "timestamp")
    WHERE sha = fork_point_sha;

-- conbench:verify
SELECT 'missing valid index commit_default_branch_repo_ts_index' AS problem
WHERE NOT EXISTS (
    SELECT FROM pg_index
    WHERE indexrelid = to_regclass('public.commit_default_branch_repo_ts_index')
      AND indrelid = to_regclass('public.commit')
      AND indisvalid
      AND indpred IS NOT NULL
)
