-- A hash index on info.tags, so that ingestion finds an info row by its tags without a scan:
-- info has had no index on tags since upstream's 99895af5dae2 (a btree entry cannot hold a large
-- document), and every result POST naming a new info document read the whole table (11k rows,
-- 430 pages at 10M results) before inserting it. A hash index stores only the 32-bit jsonb hash,
-- so documents of any size fit, and jsonb's hash agrees with its equality (numerically equal
-- documents hash alike). Serves ingest.insert_results and ingest.insert_result_found.
-- Built CONCURRENTLY so that info stays writable meanwhile; an invalid leftover index of an
-- interrupted build is dropped and rebuilt by the migrator.
-- conbench:no-transaction

CREATE INDEX CONCURRENTLY IF NOT EXISTS info_tags_index ON public.info USING hash (tags);

-- conbench:verify
SELECT 'missing valid index info_tags_index' AS problem
WHERE NOT EXISTS (
    SELECT FROM pg_index
    WHERE indexrelid = to_regclass('public.info_tags_index')
      AND indrelid = to_regclass('public.info')
      AND indisvalid
)
