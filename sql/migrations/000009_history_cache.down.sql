-- Drops the history response cache and restores the 000006 definitions of the lookback trigger
-- functions (verbatim), which bump fewer epochs. The triggers themselves are 000006's, unchanged.

DROP TABLE IF EXISTS public.history_cache;

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
