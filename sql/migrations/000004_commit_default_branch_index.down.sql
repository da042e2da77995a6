-- Drops the default-branch index (a product object on the legacy commit table).
-- conbench:no-transaction

DROP INDEX CONCURRENTLY IF EXISTS public.commit_default_branch_repo_ts_index;
