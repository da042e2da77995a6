-- Submission idempotency (spec 03 §5.6): two nullable columns on benchmark_result, a CHECK added
-- NOT VALID then validated, and a partial unique index built CONCURRENTLY, so that a large
-- benchmark_result is never locked against writes for longer than a catalog update.
-- conbench:no-transaction
-- Every statement is idempotent: a run interrupted half-way is simply run again (an INVALID index
-- left by an interrupted concurrent build is dropped by the migrator before the rebuild).
-- The CHECK also demands a non-NULL digest next to a key: without it, `NULL ~ pattern` is NULL and
-- a key without a digest would pass (the Go design's migration spells it out the same way).

ALTER TABLE public.benchmark_result
    ADD COLUMN IF NOT EXISTS submission_key text,
    ADD COLUMN IF NOT EXISTS submission_payload_sha256 text;

DO $check$
BEGIN
    IF NOT EXISTS (
        SELECT FROM pg_constraint
        WHERE conrelid = to_regclass('public.benchmark_result')
          AND conname = 'benchmark_result_submission_idempotency_check'
    ) THEN
        ALTER TABLE public.benchmark_result
            ADD CONSTRAINT benchmark_result_submission_idempotency_check CHECK (
                (submission_key IS NULL AND submission_payload_sha256 IS NULL)
                OR (
                    submission_key IS NOT NULL
                    AND submission_payload_sha256 IS NOT NULL
                    AND submission_payload_sha256 ~ '^[0-9a-f]{64}$'
                )
            ) NOT VALID;
    END IF;
END
$check$;

ALTER TABLE public.benchmark_result
    VALIDATE CONSTRAINT benchmark_result_submission_idempotency_check;

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS benchmark_result_submission_key_index
    ON public.benchmark_result USING btree (submission_key)
    WHERE submission_key IS NOT NULL;

-- conbench:verify
SELECT format('missing %s %s', expected.kind, expected.name) AS problem
FROM (
    VALUES
        ('column', 'benchmark_result.submission_key', EXISTS (
            SELECT FROM pg_attribute
            WHERE attrelid = to_regclass('public.benchmark_result')
              AND attname = 'submission_key'
              AND NOT attisdropped)),
        ('column', 'benchmark_result.submission_payload_sha256', EXISTS (
            SELECT FROM pg_attribute
            WHERE attrelid = to_regclass('public.benchmark_result')
              AND attname = 'submission_payload_sha256'
              AND NOT attisdropped)),
        ('validated constraint', 'benchmark_result_submission_idempotency_check', EXISTS (
            SELECT FROM pg_constraint
            WHERE conrelid = to_regclass('public.benchmark_result')
              AND conname = 'benchmark_result_submission_idempotency_check'
              AND contype = 'c'
              AND convalidated)),
        ('valid unique partial index', 'benchmark_result_submission_key_index', EXISTS (
            SELECT FROM pg_index AS i
            JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
            WHERE i.indexrelid = to_regclass('public.benchmark_result_submission_key_index')
              AND i.indrelid = to_regclass('public.benchmark_result')
              AND i.indisvalid
              AND i.indisunique
              AND i.indnatts = 1
              AND a.attname = 'submission_key'
              AND pg_get_expr(i.indpred, i.indrelid) = '(submission_key IS NOT NULL)'))
) AS expected (kind, name, present)
WHERE NOT expected.present
