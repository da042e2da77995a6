-- Drops the two analysis indexes (product objects on the legacy benchmark_result table).
-- conbench:no-transaction

DROP INDEX CONCURRENTLY IF EXISTS public.benchmark_result_commit_id_history_fingerprint_index;

DROP INDEX CONCURRENTLY IF EXISTS public.benchmark_result_run_id_id_index;
