-- name: get_series_head_cached
-- The head row of one result's series (as history.list_series_heads) with the fingerprint's
-- current epoch (lookback_epoch, a missing row counting as 0) and, when a history_cache row of
-- %(variant)s for that fingerprint carries that epoch, its body. The `legacy` variant is kept
-- per hardware hash (`legacy:<hash>`: the legacy samples repeat the head's hash). No row for an
-- unknown result. The epoch is read here, before the members are: a store with it can only be
-- too old, never too new (docs/history-cache.md).
-- Index: benchmark_result_pkey, the primary keys of case, context and hardware,
-- lookback_epoch_pkey, history_cache_pkey.
SELECT
    r.id,
    r.history_fingerprint,
    r.case_id,
    r.context_id,
    r.unit,
    r.commit_repo_url AS repository,
    cs.name AS case_name,
    cs.tags AS case_tags,
    ctx.tags AS context_tags,
    h.id AS hardware_id,
    h.type AS hardware_type,
    h.name AS hardware_name,
    h.hash AS hardware_hash,
    e.epoch AS cache_epoch,
    hc.body AS cached_body
FROM benchmark_result AS r
JOIN "case" AS cs ON cs.id = r.case_id
JOIN context AS ctx ON ctx.id = r.context_id
JOIN hardware AS h ON h.id = r.hardware_id
CROSS JOIN LATERAL (
    SELECT coalesce(
        (SELECT le.epoch FROM lookback_epoch AS le WHERE le.key = r.history_fingerprint), 0
    ) AS epoch
) AS e
LEFT JOIN history_cache AS hc
    ON hc.history_fingerprint = r.history_fingerprint
    AND hc.variant = CASE
        WHEN %(variant)s::text = 'legacy' THEN 'legacy:' || h.hash
        ELSE %(variant)s::text
    END
    AND hc.epoch = e.epoch
WHERE r.id = %(id)s

-- name: get_fingerprint_cached
-- The current epoch of %(fingerprint)s (a missing row counting as 0) and, when its `modern`
-- history_cache row carries that epoch, its body and the head row of the newest member the row
-- names (as history.list_series_heads). Always one row; `cached_body` NULL on a miss.
-- Index: lookback_epoch_pkey, history_cache_pkey, then benchmark_result_pkey and the primary
-- keys of case, context and hardware.
SELECT
    e.epoch AS cache_epoch,
    hc.body AS cached_body,
    r.id,
    r.history_fingerprint,
    r.case_id,
    r.context_id,
    r.unit,
    r.commit_repo_url AS repository,
    cs.name AS case_name,
    cs.tags AS case_tags,
    ctx.tags AS context_tags,
    h.id AS hardware_id,
    h.type AS hardware_type,
    h.name AS hardware_name,
    h.hash AS hardware_hash
FROM (
    SELECT coalesce(
        (SELECT le.epoch FROM lookback_epoch AS le WHERE le.key = %(fingerprint)s), 0
    ) AS epoch
) AS e
LEFT JOIN (
    history_cache AS hc
    JOIN benchmark_result AS r ON r.id = hc.newest_id
    JOIN "case" AS cs ON cs.id = r.case_id
    JOIN context AS ctx ON ctx.id = r.context_id
    JOIN hardware AS h ON h.id = r.hardware_id
) ON hc.history_fingerprint = %(fingerprint)s
    AND hc.variant = 'modern'
    AND hc.epoch = e.epoch

-- name: upsert_history_cache
-- Store (or replace) a computed body with the epoch read before its members were; a row already
-- stored with a newer epoch is kept. Writers never wait on this: they do not touch history_cache.
-- Index: history_cache_pkey.
INSERT INTO history_cache AS hc (
    history_fingerprint, variant, epoch, body, newest_id, computed_at
)
VALUES (
    %(fingerprint)s, %(variant)s, %(epoch)s, %(body)s, %(newest_id)s,
    (now() AT TIME ZONE 'UTC')
)
ON CONFLICT (history_fingerprint, variant) DO UPDATE
SET epoch = excluded.epoch,
    body = excluded.body,
    newest_id = excluded.newest_id,
    computed_at = excluded.computed_at
WHERE hc.epoch < excluded.epoch

-- name: list_prunable_history_cache
-- The keys of the history_cache rows `conbench admin history-cache prune` deletes, in key order:
-- the stale ones (`epoch` differs from the fingerprint's current epoch in lookback_epoch, a
-- missing row counting as 0: the read path's rule, negated) and, when %(cutoff)s is not NULL,
-- the valid ones computed before it; `stale` tells which. Reads no body (they are in TOAST).
-- No index on computed_at, on purpose (it would cost every store): one sequential scan of
-- history_cache (one row per stored series and variant), joined to lookback_epoch by a hash
-- join or lookback_epoch_pkey.
SELECT
    hc.history_fingerprint,
    hc.variant,
    hc.epoch <> coalesce(e.epoch, 0) AS stale
FROM history_cache AS hc
LEFT JOIN lookback_epoch AS e ON e.key = hc.history_fingerprint
WHERE hc.epoch <> coalesce(e.epoch, 0)
    OR hc.computed_at < %(cutoff)s::timestamp
ORDER BY hc.history_fingerprint, hc.variant

-- name: delete_prunable_history_cache
-- Delete the rows of the given keys that are still stale or computed before %(cutoff)s (a
-- request may have stored a valid body since they were listed: that one is kept); one short
-- transaction per batch of keys. Index: history_cache_pkey, lookback_epoch_pkey.
DELETE FROM history_cache AS hc
USING unnest(%(fingerprints)s::text[], %(variants)s::text[]) AS k (history_fingerprint, variant)
WHERE hc.history_fingerprint = k.history_fingerprint
    AND hc.variant = k.variant
    AND (
        hc.epoch <> coalesce(
            (SELECT e.epoch FROM lookback_epoch AS e WHERE e.key = hc.history_fingerprint), 0
        )
        OR hc.computed_at < %(cutoff)s::timestamp
    )
