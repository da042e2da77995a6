-- Two benchmark_result indexes that the analysis queries need at 10M results, as measured by
-- scripts/bench/query.py (EXPLAIN ANALYZE on the generated 10M dataset, scripts/bench/README.md):
-- - benchmark_result_run_id_id_index (run_id, id): a run's results in id order. Serves
--   runs.get_run (the representative lowest-id result of GET /api/runs/<id>/: without it the
--   planner walks benchmark_result_pkey from the first id until it meets the run, 0.5M buffers and
--   1.5 s for a recent run), results.list_results_scoped (a run's page by id descending) and
--   compare.get_run_commit.
-- - benchmark_result_commit_id_history_fingerprint_index (commit_id, history_fingerprint): the
--   results on one ancestor commit that share a fingerprint with the contender run. Serves
--   baselines.get_legacy_baseline_result (387 ms -> 4 ms per run detail), get_ci_baseline_result
--   and lookback.list_distribution_rows for one fingerprint.
-- Built CONCURRENTLY so that benchmark_result stays writable meanwhile; an invalid leftover index
-- of an interrupted build is dropped and rebuilt by the migrator.
-- conbench:no-transaction

CREATE INDEX CONCURRENTLY IF NOT EXISTS benchmark_result_run_id_id_index
    ON public.benchmark_result USING btree (run_id, id);

CREATE INDEX CONCURRENTLY IF NOT EXISTS benchmark_result_commit_id_history_fingerprint_index
    ON public.benchmark_result USING btree (commit_id, history_fingerprint);

-- conbench:verify
SELECT format('missing valid index %s', expected.name) AS problem
FROM (
    VALUES
        ('benchmark_result_run_id_id_index'),
        ('benchmark_result_commit_id_history_fingerprint_index')
) AS expected (name)
WHERE NOT EXISTS (
    SELECT FROM pg_index
    WHERE indexrelid = to_regclass('public.' || expected.name)
      AND indrelid = to_regclass('public.benchmark_result')
      AND indisvalid
)
