-- Two benchmark_result indexes for the run-detail baseline search and the series browse at 10M
-- results, as measured by scripts/bench/query.py (EXPLAIN ANALYZE on the generated 10M dataset,
-- scripts/bench/README.md):
-- - benchmark_result_commit_id_run_reason_index (commit_id, run_reason): whether a commit carries
--   any result of a run_reason, index only. baselines.get_legacy_baseline_result and
--   get_ci_baseline_result walk the ancestors same-reason first and stop at the first match; this
--   lets the same-reason pass skip an ancestor without a result of that reason (a pull-request run
--   against default-branch ancestors) instead of reading its ~1,400 matching results (36 -> 2-3 ms
--   per search for a 1,500-result run). Few distinct keys, so deduplicated: ~70 MB at 10M.
-- - benchmark_result_series_member_index (history_fingerprint, commit_id), partial on the member
--   row conditions of 04 §9 (a commit, no error, a unit, non-empty data without NULLs, an SVS):
--   series.list_series_members counts a page's members and finds the newest of each index only,
--   then reads the kept 256 per series instead of every member (250 -> ~75 ms for 25 series of
--   ~2,000 members). Its predicate is only implied by that query's conditions, so no other query
--   (the baseline searches among them) can pick it. ~900 MB at 10M.
-- Built CONCURRENTLY so that benchmark_result stays writable meanwhile; an invalid leftover index
-- of an interrupted build is dropped and rebuilt by the migrator.
-- conbench:no-transaction

CREATE INDEX CONCURRENTLY IF NOT EXISTS benchmark_result_commit_id_run_reason_index
    ON public.benchmark_result USING btree (commit_id, run_reason);

CREATE INDEX CONCURRENTLY IF NOT EXISTS benchmark_result_series_member_index
    ON public.benchmark_result USING btree (history_fingerprint, commit_id)
    WHERE commit_id IS NOT NULL
        AND error IS NULL
        AND unit IS NOT NULL
        AND cardinality(data) > 0
        AND array_position(data, NULL) IS NULL
        AND (
            CASE
                WHEN array_length(data, 1) = 1 THEN mean
                WHEN array_length(data, 1) = 2 AND unit LIKE '%/s' THEN greatest(data[1], data[2])
                WHEN array_length(data, 1) = 2 THEN least(data[1], data[2])
                WHEN unit LIKE '%/s' THEN max
                ELSE min
            END
        ) IS NOT NULL;

-- conbench:verify
SELECT format('missing valid index %s', expected.name) AS problem
FROM (
    VALUES
        ('benchmark_result_commit_id_run_reason_index'),
        ('benchmark_result_series_member_index')
) AS expected (name)
WHERE NOT EXISTS (
    SELECT FROM pg_index
    WHERE indexrelid = to_regclass('public.' || expected.name)
      AND indrelid = to_regclass('public.benchmark_result')
      AND indisvalid
)
