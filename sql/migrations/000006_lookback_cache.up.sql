-- A derived cache of lookback distributions (spec 04 §6 steps 1-4), read through by
-- conbench.queries.lookback.lookback_for: one row per (baseline commit, fingerprint) holding
-- (dist_mean, dist_std) and the bounds of the ancestry window it was computed over.
-- Correctness does not depend on any writer's code: statement-level triggers on benchmark_result
-- and commit delete the rows a change could affect and bump an epoch that readers check before
-- they store (the fill race). docs/lookback-cache.md explains the bounds and the race guard.
--
-- Window bounds of a row (B = the baseline commit, fp = its fork point, default = B on the
-- default branch, full = the ancestry holds 100 commits):
-- - window_min_ts: the oldest ancestor's timestamp; window_max_ts: max(B.ts, fp.ts). A result on
--   commit C can only matter when window_min_ts <= C.ts <= window_max_ts, and for a default-branch
--   B only when C is on the default branch.
-- - a commit version V (inserted, deleted, or either side of an update of sha, repository,
--   timestamp, branch or fork_point_sha) can only matter when V.ts <= window_max_ts; for a
--   default-branch B only when V is on the default branch and (the window is not full or
--   V.ts >= window_min_ts). New commits newer than every window therefore delete nothing.

CREATE TABLE IF NOT EXISTS public.lookback_distribution (
    commit_id character varying(50) NOT NULL,
    history_fingerprint text NOT NULL,
    dist_mean double precision,
    dist_std double precision,
    repository character varying(300) NOT NULL,
    on_default_branch boolean NOT NULL,
    full_window boolean NOT NULL,
    window_min_ts timestamp without time zone NOT NULL,
    window_max_ts timestamp without time zone NOT NULL,
    computed_at timestamp without time zone NOT NULL,
    CONSTRAINT lookback_distribution_pkey PRIMARY KEY (commit_id, history_fingerprint)
);

-- Invalidation by fingerprint (result changes): a new result on the newest commit is an empty
-- range scan.
CREATE INDEX IF NOT EXISTS lookback_distribution_fingerprint_window_index
    ON public.lookback_distribution USING btree (history_fingerprint, window_max_ts);

-- Invalidation by repository (commit changes).
CREATE INDEX IF NOT EXISTS lookback_distribution_repository_window_index
    ON public.lookback_distribution USING btree (repository, window_max_ts);

-- Epoch per key (a history_fingerprint, or 'repo:' || commit.repository), bumped by every write
-- that could change a lookback distribution of that key; a reader stores what it computed only
-- if the epochs it read before computing are unchanged.
CREATE TABLE IF NOT EXISTS public.lookback_epoch (
    key text NOT NULL,
    epoch bigint NOT NULL,
    CONSTRAINT lookback_epoch_pkey PRIMARY KEY (key)
);

-- Every trigger below first bumps the epochs of the keys a change touches (in key order, so that
-- concurrent writers lock them in one order), then deletes the cache rows the change could
-- affect. The bump comes first: a reader storing meanwhile holds the epoch rows FOR SHARE, so the
-- bump waits for its commit, and the delete (a new statement, a new snapshot under READ
-- COMMITTED) then sees and removes what it stored. Which keys to bump depends only on the
-- changed rows themselves, never on other tables: a result's commit may be getting its timestamp
-- in a concurrent transaction that the bump's snapshot does not see yet, the delete's does.

-- Results inserted (every ingestion, single or bulk, and seeding): the hot path, two statements.
-- Only rows that can be distribution rows (04 §6 step 3) count.
CREATE OR REPLACE FUNCTION public.lookback_results_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.lookback_epoch AS e (key, epoch)
    SELECT DISTINCT n.history_fingerprint, 1
    FROM new_rows AS n
    WHERE n.commit_id IS NOT NULL AND n.error IS NULL AND n.mean IS NOT NULL
        AND n.unit IS NOT NULL
    ORDER BY 1
    ON CONFLICT (key) DO UPDATE SET epoch = e.epoch + 1;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    DELETE FROM public.lookback_distribution AS d
    USING (
        SELECT
            n.history_fingerprint,
            min(c."timestamp") FILTER (WHERE c.sha = c.fork_point_sha) AS default_min,
            max(c."timestamp") FILTER (WHERE c.sha = c.fork_point_sha) AS default_max,
            min(c."timestamp") AS any_min,
            max(c."timestamp") AS any_max
        FROM new_rows AS n
        JOIN public.commit AS c ON c.id = n.commit_id
        WHERE n.error IS NULL AND n.mean IS NOT NULL AND n.unit IS NOT NULL
            AND c."timestamp" IS NOT NULL
        GROUP BY n.history_fingerprint
    ) AS c
    WHERE d.history_fingerprint = c.history_fingerprint
        AND d.window_max_ts >= c.any_min
        AND d.window_min_ts <= c.any_max
        AND (
            NOT d.on_default_branch
            OR (d.window_max_ts >= c.default_min AND d.window_min_ts <= c.default_max)
        );
    RETURN NULL;
END
$$;

-- Results updated or deleted (annotations, DELETE, admin commands): the relevant versions by
-- fingerprint, with the range of their commits' timestamps (default-branch commits apart). An
-- UPDATE that changes none of the columns the distribution reads does nothing.
CREATE OR REPLACE FUNCTION public.lookback_results_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    fingerprints text[];
    commit_ids text[];
BEGIN
    IF TG_OP = 'DELETE' THEN
        SELECT array_agg(o.history_fingerprint), array_agg(o.commit_id)
        INTO fingerprints, commit_ids
        FROM old_rows AS o
        WHERE o.commit_id IS NOT NULL AND o.error IS NULL AND o.mean IS NOT NULL
            AND o.unit IS NOT NULL;
    ELSE
        SELECT array_agg(v.history_fingerprint), array_agg(v.commit_id)
        INTO fingerprints, commit_ids
        FROM old_rows AS o
        FULL JOIN new_rows AS n ON n.id = o.id
        CROSS JOIN LATERAL (
            VALUES
                (o.history_fingerprint, o.commit_id, o.error IS NULL, o.mean, o.unit),
                (n.history_fingerprint, n.commit_id, n.error IS NULL, n.mean, n.unit)
        ) AS v (history_fingerprint, commit_id, ok, mean, unit)
        WHERE v.commit_id IS NOT NULL AND v.ok AND v.mean IS NOT NULL AND v.unit IS NOT NULL
            AND (o.history_fingerprint, o.commit_id, o."timestamp", o.error IS NULL, o.mean,
                 o.unit, o.data, o.min, o.max, o.change_annotations -> 'begins_distribution_change')
                IS DISTINCT FROM
                (n.history_fingerprint, n.commit_id, n."timestamp", n.error IS NULL, n.mean,
                 n.unit, n.data, n.min, n.max, n.change_annotations -> 'begins_distribution_change');
    END IF;
    IF fingerprints IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO public.lookback_epoch AS e (key, epoch)
    SELECT DISTINCT k.key, 1
    FROM unnest(fingerprints) AS k (key)
    ORDER BY 1
    ON CONFLICT (key) DO UPDATE SET epoch = e.epoch + 1;
    DELETE FROM public.lookback_distribution AS d
    USING (
        SELECT
            v.history_fingerprint,
            min(c."timestamp") FILTER (WHERE c.sha = c.fork_point_sha) AS default_min,
            max(c."timestamp") FILTER (WHERE c.sha = c.fork_point_sha) AS default_max,
            min(c."timestamp") AS any_min,
            max(c."timestamp") AS any_max
        FROM unnest(fingerprints, commit_ids) AS v (history_fingerprint, commit_id)
        JOIN public.commit AS c ON c.id = v.commit_id
        WHERE c."timestamp" IS NOT NULL
        GROUP BY v.history_fingerprint
    ) AS c
    WHERE d.history_fingerprint = c.history_fingerprint
        AND d.window_max_ts >= c.any_min
        AND d.window_min_ts <= c.any_max
        AND (
            NOT d.on_default_branch
            OR (d.window_max_ts >= c.default_min AND d.window_min_ts <= c.default_max)
        );
    RETURN NULL;
END
$$;

-- commit changed: the versions with a timestamp (others are in no ancestry) by repository. Only
-- the columns the ancestry (04 §8) reads count; enrichment of message or author does nothing.
CREATE OR REPLACE FUNCTION public.lookback_commits_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    repositories text[];
    stamps timestamp[];
    defaults boolean[];
    keys text[];
    repos text[];
    default_min timestamp[];
    default_max timestamp[];
    any_min timestamp[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(n.repository), array_agg(n."timestamp"),
            array_agg((n.sha = n.fork_point_sha) IS TRUE)
        INTO repositories, stamps, defaults
        FROM new_rows AS n
        WHERE n."timestamp" IS NOT NULL;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(o.repository), array_agg(o."timestamp"),
            array_agg((o.sha = o.fork_point_sha) IS TRUE)
        INTO repositories, stamps, defaults
        FROM old_rows AS o
        WHERE o."timestamp" IS NOT NULL;
    ELSE
        SELECT array_agg(v.repository), array_agg(v.stamp), array_agg(v.on_default)
        INTO repositories, stamps, defaults
        FROM old_rows AS o
        FULL JOIN new_rows AS n ON n.id = o.id
        CROSS JOIN LATERAL (
            VALUES
                (o.repository, o."timestamp", (o.sha = o.fork_point_sha) IS TRUE),
                (n.repository, n."timestamp", (n.sha = n.fork_point_sha) IS TRUE)
        ) AS v (repository, stamp, on_default)
        WHERE v.stamp IS NOT NULL
            AND (o.sha, o.repository, o."timestamp", o.branch, o.fork_point_sha)
                IS DISTINCT FROM (n.sha, n.repository, n."timestamp", n.branch, n.fork_point_sha);
    END IF;
    IF repositories IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT
        array_agg('repo:' || a.repository ORDER BY a.repository),
        array_agg(a.repository ORDER BY a.repository),
        array_agg(a.default_min ORDER BY a.repository),
        array_agg(a.default_max ORDER BY a.repository),
        array_agg(a.any_min ORDER BY a.repository)
    INTO keys, repos, default_min, default_max, any_min
    FROM (
        SELECT
            v.repository,
            min(v.stamp) FILTER (WHERE v.on_default) AS default_min,
            max(v.stamp) FILTER (WHERE v.on_default) AS default_max,
            min(v.stamp) AS any_min
        FROM unnest(repositories, stamps, defaults) AS v (repository, stamp, on_default)
        GROUP BY v.repository
    ) AS a;
    INSERT INTO public.lookback_epoch AS e (key, epoch)
    SELECT k.key, 1
    FROM unnest(keys) AS k (key)
    ORDER BY k.key
    ON CONFLICT (key) DO UPDATE SET epoch = e.epoch + 1;
    DELETE FROM public.lookback_distribution AS d
    USING unnest(repos, default_min, default_max, any_min)
        AS c (repository, default_min, default_max, any_min)
    WHERE d.repository = c.repository
        AND d.window_max_ts >= c.any_min
        AND (
            NOT d.on_default_branch
            OR (
                d.window_max_ts >= c.default_min
                AND (NOT d.full_window OR d.window_min_ts <= c.default_max)
            )
        );
    RETURN NULL;
END
$$;

-- TRUNCATE of either table: forget everything.
CREATE OR REPLACE FUNCTION public.lookback_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE public.lookback_epoch SET epoch = epoch + 1;
    DELETE FROM public.lookback_distribution;
    RETURN NULL;
END
$$;

-- Create missing epoch rows for a reader (keys of data loaded with triggers disabled). A reader
-- must not wait here for long: a writer inserting the same new key holds it until it commits.
CREATE OR REPLACE FUNCTION public.lookback_create_epochs(keys text[]) RETURNS void
LANGUAGE sql
SET lock_timeout = '100ms'
AS $$
    INSERT INTO public.lookback_epoch (key, epoch)
    SELECT k.key, 0
    FROM unnest(keys) AS k (key)
    ORDER BY k.key
    ON CONFLICT (key) DO NOTHING
$$;

DROP TRIGGER IF EXISTS lookback_results_inserted ON public.benchmark_result;
CREATE TRIGGER lookback_results_inserted
    AFTER INSERT ON public.benchmark_result
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.lookback_results_inserted();

DROP TRIGGER IF EXISTS lookback_results_updated ON public.benchmark_result;
CREATE TRIGGER lookback_results_updated
    AFTER UPDATE ON public.benchmark_result
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.lookback_results_changed();

DROP TRIGGER IF EXISTS lookback_results_deleted ON public.benchmark_result;
CREATE TRIGGER lookback_results_deleted
    AFTER DELETE ON public.benchmark_result
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.lookback_results_changed();

DROP TRIGGER IF EXISTS lookback_results_truncated ON public.benchmark_result;
CREATE TRIGGER lookback_results_truncated
    AFTER TRUNCATE ON public.benchmark_result
    FOR EACH STATEMENT EXECUTE FUNCTION public.lookback_truncated();

DROP TRIGGER IF EXISTS lookback_commits_inserted ON public.commit;
CREATE TRIGGER lookback_commits_inserted
    AFTER INSERT ON public.commit
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.lookback_commits_changed();

DROP TRIGGER IF EXISTS lookback_commits_updated ON public.commit;
CREATE TRIGGER lookback_commits_updated
    AFTER UPDATE ON public.commit
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.lookback_commits_changed();

DROP TRIGGER IF EXISTS lookback_commits_deleted ON public.commit;
CREATE TRIGGER lookback_commits_deleted
    AFTER DELETE ON public.commit
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.lookback_commits_changed();

DROP TRIGGER IF EXISTS lookback_commits_truncated ON public.commit;
CREATE TRIGGER lookback_commits_truncated
    AFTER TRUNCATE ON public.commit
    FOR EACH STATEMENT EXECUTE FUNCTION public.lookback_truncated();

-- Epochs of what exists now (the triggers above already hold the tables' locks, so no write
-- slips between): readers can store from their first request on.
INSERT INTO public.lookback_epoch (key, epoch)
SELECT DISTINCT history_fingerprint, 0
FROM public.benchmark_result
ON CONFLICT (key) DO NOTHING;

INSERT INTO public.lookback_epoch (key, epoch)
SELECT DISTINCT 'repo:' || repository, 0
FROM public.commit
ON CONFLICT (key) DO NOTHING;

-- conbench:verify
SELECT format('missing %s %s', expected.kind, expected.name) AS problem
FROM (
    VALUES
        ('table', 'lookback_distribution',
            to_regclass('public.lookback_distribution') IS NOT NULL),
        ('table', 'lookback_epoch', to_regclass('public.lookback_epoch') IS NOT NULL),
        ('index', 'lookback_distribution_fingerprint_window_index',
            to_regclass('public.lookback_distribution_fingerprint_window_index') IS NOT NULL),
        ('index', 'lookback_distribution_repository_window_index',
            to_regclass('public.lookback_distribution_repository_window_index') IS NOT NULL),
        ('triggers', 'lookback_* on benchmark_result and commit', (
            SELECT count(*) = 8
            FROM pg_trigger
            WHERE tgname LIKE 'lookback\_%'
              AND tgrelid IN ('public.benchmark_result'::regclass, 'public.commit'::regclass)
              AND tgenabled <> 'D'))
) AS expected (kind, name, present)
WHERE NOT expected.present
