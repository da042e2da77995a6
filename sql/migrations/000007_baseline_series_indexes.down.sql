-- Drops the baseline-search and series-member indexes (product objects on the legacy
-- benchmark_result table).
-- conbench:no-transaction

DROP INDEX CONCURRENTLY IF EXISTS public.benchmark_result_series_member_index;

DROP INDEX CONCURRENTLY IF EXISTS public.benchmark_result_commit_id_run_reason_index;
