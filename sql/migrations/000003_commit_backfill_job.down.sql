-- Drops the backfill queue; pending jobs are lost, the commits they inserted stay.

DROP TABLE IF EXISTS public.commit_backfill_job;
