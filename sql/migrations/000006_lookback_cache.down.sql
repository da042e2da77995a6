-- Drops the lookback distribution cache: its triggers on benchmark_result and commit (product
-- objects on legacy tables), their functions and both tables. Nothing else depends on them.

DROP TRIGGER IF EXISTS lookback_results_inserted ON public.benchmark_result;
DROP TRIGGER IF EXISTS lookback_results_updated ON public.benchmark_result;
DROP TRIGGER IF EXISTS lookback_results_deleted ON public.benchmark_result;
DROP TRIGGER IF EXISTS lookback_results_truncated ON public.benchmark_result;
DROP TRIGGER IF EXISTS lookback_commits_inserted ON public.commit;
DROP TRIGGER IF EXISTS lookback_commits_updated ON public.commit;
DROP TRIGGER IF EXISTS lookback_commits_deleted ON public.commit;
DROP TRIGGER IF EXISTS lookback_commits_truncated ON public.commit;

DROP FUNCTION IF EXISTS public.lookback_results_changed();
DROP FUNCTION IF EXISTS public.lookback_commits_changed();
DROP FUNCTION IF EXISTS public.lookback_truncated();
DROP FUNCTION IF EXISTS public.lookback_results_inserted();
DROP FUNCTION IF EXISTS public.lookback_create_epochs(text[]);

DROP TABLE IF EXISTS public.lookback_distribution;
DROP TABLE IF EXISTS public.lookback_epoch;
