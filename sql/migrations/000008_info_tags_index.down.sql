-- Drops the hash index on info.tags.
-- conbench:no-transaction

DROP INDEX CONCURRENTLY IF EXISTS public.info_tags_index;
