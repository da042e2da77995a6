-- A derived cache of history responses (02 §7, 01 §7.8-7.9), read through by
-- conbench.resources.history: per series (history_fingerprint) and variant, the encoded part of
-- a response that depends only on the series' members, stored with the fingerprint's epoch
-- (lookback_epoch, migration 000006) read before the members were. A stored row is valid while
-- that epoch is unchanged (a missing epoch row counts as 0, the value 000006 starts existing
-- keys at; the first bump creates a key at 1). docs/history-cache.md explains the variants.
--
-- The 000006 triggers bumped a fingerprint's epoch only for changes that matter to lookback
-- distributions; this migration replaces their functions so that every change that can alter a
-- history response bumps it too (bumping more only makes lookback fills retry, see
-- docs/lookback-cache.md); what they delete from lookback_distribution is unchanged:
-- - results inserted: every row that can be a member (a commit, no error, a unit), not only
--   those with a mean;
-- - results updated or deleted: every fingerprint of the old and the new rows, whatever changed;
-- - commits updated (sha, repository, message, timestamp or fork_point_sha changed, what a
--   history point shows or its membership reads) or deleted: the fingerprints of the results on
--   those commits (benchmark_result_commit_id_index). The updated commit rows are locked FOR
--   UPDATE first: that waits for transactions inserting results on them (their foreign key
--   check holds FOR KEY SHARE on the commit row) and makes later ones wait, so the fingerprints
--   are read in a snapshot that sees every result that can be on those commits. Commit INSERTs
--   bump no fingerprint (a new commit has no results yet);
-- - TRUNCATE of either table also deletes every history_cache row (its fingerprints may have no
--   epoch row to bump).
-- history_cache has no foreign key and writers never touch its rows: a stale row just never
-- validates again, and the next read replaces it.

CREATE TABLE IF NOT EXISTS public.history_cache (
    history_fingerprint text NOT NULL,
    variant text NOT NULL,
    epoch bigint NOT NULL,
    body bytea NOT NULL,
    newest_id character varying(50),
    computed_at timestamp without time zone NOT NULL,
    CONSTRAINT history_cache_pkey PRIMARY KEY (history_fingerprint, variant)
);

-- Bodies keep the default TOAST compression (the server's default_toast_compression): ~3x smaller
-- than uncompressed (a 2,000-point modern body is 1.5 MB of JSON) for a slower store (~25 ms
-- instead of ~6 ms with pglz) and a decompression per hit (docs/history-cache.md).

-- Results inserted: the hot path, still two statements (the bump covers possible members).
CREATE OR REPLACE FUNCTION public.lookback_results_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.lookback_epoch AS e (key, epoch)
    SELECT DISTINCT n.history_fingerprint, 1
    FROM new_rows AS n
    WHERE n.commit_id IS NOT NULL AND n.error IS NULL AND n.unit IS NOT NULL
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

-- Results updated or deleted: every fingerprint of the old and new rows is bumped; the lookback
-- rows deleted are those of the versions that matter to distributions, as in 000006.
CREATE OR REPLACE FUNCTION public.lookback_results_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    fingerprints text[];
    commit_ids text[];
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO public.lookback_epoch AS e (key, epoch)
        SELECT DISTINCT o.history_fingerprint, 1
        FROM old_rows AS o
        ORDER BY 1
        ON CONFLICT (key) DO UPDATE SET epoch = e.epoch + 1;
        SELECT array_agg(o.history_fingerprint), array_agg(o.commit_id)
        INTO fingerprints, commit_ids
        FROM old_rows AS o
        WHERE o.commit_id IS NOT NULL AND o.error IS NULL AND o.mean IS NOT NULL
            AND o.unit IS NOT NULL;
    ELSE
        INSERT INTO public.lookback_epoch AS e (key, epoch)
        SELECT k.key, 1
        FROM (
            SELECT o.history_fingerprint FROM old_rows AS o
            UNION
            SELECT n.history_fingerprint FROM new_rows AS n
        ) AS k (key)
        ORDER BY 1
        ON CONFLICT (key) DO UPDATE SET epoch = e.epoch + 1;
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

-- commit changed: first the fingerprints of the results on updated or deleted commits whose
-- shown columns changed (history), then the repository keys and lookback rows as in 000006.
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
    changed_ids text[];
BEGIN
    IF TG_OP = 'UPDATE' THEN
        SELECT array_agg(DISTINCT v.id ORDER BY v.id)
        INTO changed_ids
        FROM old_rows AS o
        FULL JOIN new_rows AS n ON n.id = o.id
        CROSS JOIN LATERAL (VALUES (o.id), (n.id)) AS v (id)
        WHERE v.id IS NOT NULL
            AND (o.sha, o.repository, o.message, o."timestamp", o.fork_point_sha)
                IS DISTINCT FROM (n.sha, n.repository, n.message, n."timestamp", n.fork_point_sha);
        IF changed_ids IS NOT NULL THEN
            PERFORM 1
            FROM public.commit AS c
            WHERE c.id = ANY(changed_ids)
            ORDER BY c.id
            FOR UPDATE;
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(o.id) INTO changed_ids FROM old_rows AS o;
    END IF;
    IF changed_ids IS NOT NULL THEN
        INSERT INTO public.lookback_epoch AS e (key, epoch)
        SELECT DISTINCT r.history_fingerprint, 1
        FROM public.benchmark_result AS r
        WHERE r.commit_id = ANY(changed_ids)
        ORDER BY 1
        ON CONFLICT (key) DO UPDATE SET epoch = e.epoch + 1;
    END IF;
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

-- TRUNCATE of either table: forget everything, history responses included.
CREATE OR REPLACE FUNCTION public.lookback_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE public.lookback_epoch SET epoch = epoch + 1;
    DELETE FROM public.lookback_distribution;
    DELETE FROM public.history_cache;
    RETURN NULL;
END
$$;

-- conbench:verify
SELECT format('missing %s %s', expected.kind, expected.name) AS problem
FROM (
    VALUES
        ('table', 'history_cache', to_regclass('public.history_cache') IS NOT NULL),
        ('function', 'lookback_truncated clearing history_cache', (
            SELECT count(*) = 1
            FROM pg_proc
            WHERE proname = 'lookback_truncated'
              AND pronamespace = 'public'::regnamespace
              AND prosrc LIKE '%history_cache%')),
        ('function', 'lookback_commits_changed bumping fingerprints', (
            SELECT count(*) = 1
            FROM pg_proc
            WHERE proname = 'lookback_commits_changed'
              AND pronamespace = 'public'::regnamespace
              AND prosrc LIKE '%changed_ids%'))
) AS expected (kind, name, present)
WHERE NOT expected.present
