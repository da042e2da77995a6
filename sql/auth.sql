-- name: get_live_token_by_hash
-- A non-revoked API token by the SHA-256 of its plaintext. Index: api_token_token_hash_key.
SELECT id, user_id, token_hash, last_used_at
FROM api_token
WHERE token_hash = %(token_hash)s
  AND revoked_at IS NULL

-- name: get_bridge_token
-- A non-revoked API token by hash whose owner has this email (case-insensitive, trimmed): the
-- legacy login bridge's check (01 §2.1). Index: api_token_token_hash_key, then user_pkey.
SELECT t.id, t.user_id, t.token_hash, t.last_used_at
FROM api_token AS t
JOIN "user" AS u ON u.id = t.user_id
WHERE t.token_hash = %(token_hash)s
  AND t.revoked_at IS NULL
  AND lower(btrim(u.email)) = lower(btrim(%(email)s))

-- name: get_session_user
-- The user of a session cookie, with the bridge token's `last_used_at`; no row when the user is
-- gone or, for a bridge session (token_id set), the token is revoked or someone else's.
-- Index: user_pkey, api_token_pkey.
SELECT u.id, u.email, u.name, t.last_used_at AS token_last_used_at
FROM "user" AS u
LEFT JOIN api_token AS t
  ON t.id = %(token_id)s
 AND t.user_id = u.id
 AND t.revoked_at IS NULL
WHERE u.id = %(user_id)s
  AND (%(token_id)s::text IS NULL OR t.id IS NOT NULL)

-- name: update_token_last_used
-- Stamp `last_used_at` unless another process did within 5 minutes (the throttle shared by every
-- replica). Index: api_token_pkey.
UPDATE api_token
SET last_used_at = now() AT TIME ZONE 'UTC'
WHERE id = %(id)s
  AND (last_used_at IS NULL OR last_used_at < now() AT TIME ZONE 'UTC' - interval '5 minutes')

-- name: insert_token
-- A new API token; only the hash and the 8-character prefix of the plaintext are stored.
INSERT INTO api_token (id, user_id, name, token_hash, token_prefix, created_at)
VALUES (%(id)s, %(user_id)s, %(name)s, %(token_hash)s, %(prefix)s, now() AT TIME ZONE 'UTC')
RETURNING id, user_id, name, token_prefix AS prefix, created_at

-- name: insert_token_unless_hash_exists
-- The dev seed's insert: nothing (no row) when a token with this hash already exists, also when
-- two replicas seed at once. Index: api_token_token_hash_key.
INSERT INTO api_token (id, user_id, name, token_hash, token_prefix, created_at)
VALUES (%(id)s, %(user_id)s, %(name)s, %(token_hash)s, %(prefix)s, now() AT TIME ZONE 'UTC')
ON CONFLICT (token_hash) DO NOTHING
RETURNING id, user_id, name, token_prefix AS prefix, created_at

-- name: exists_token_hash
-- Whether any token (revoked or not) has this hash. Index: api_token_token_hash_key.
SELECT EXISTS (
    SELECT 1
    FROM api_token
    WHERE token_hash = %(token_hash)s
) AS value

-- name: list_user_tokens
-- A user's tokens, revoked ones included, newest first. No index on api_token.user_id: the
-- table holds a few rows per user, a scan is cheaper than another index to maintain.
SELECT id, name, token_prefix AS prefix, created_at, last_used_at, revoked_at
FROM api_token
WHERE user_id = %(user_id)s
ORDER BY created_at DESC, id DESC

-- name: update_user_token_revoked
-- Revoke one of the user's tokens; idempotent (a revoked token keeps its first `revoked_at`).
-- Zero rows for an unknown id or another user's token. Index: api_token_pkey.
UPDATE api_token
SET revoked_at = COALESCE(revoked_at, now() AT TIME ZONE 'UTC')
WHERE id = %(id)s
  AND user_id = %(user_id)s

-- name: get_or_create_user
-- The user with this email (case-insensitive; an exact match wins), created with the password
-- marker `!` when there is none. No row only when a concurrent insert of the same email won;
-- the caller repeats. No index on lower(email): a scan of the small user table.
WITH found AS (
    SELECT id, email, name
    FROM "user"
    WHERE lower(email) = lower(%(email)s)
    ORDER BY email = %(email)s DESC, id
    LIMIT 1
), created AS (
    INSERT INTO "user" (id, email, name, password)
    SELECT %(id)s, %(email)s, %(name)s, '!'
    WHERE NOT EXISTS (SELECT 1 FROM found)
    ON CONFLICT (email) DO NOTHING
    RETURNING id, email, name
)
SELECT id, email, name, false AS created
FROM found
UNION ALL
SELECT id, email, name, true AS created
FROM created

-- name: delete_expired_cli_codes
-- CLI login codes past their expiry, redeemed or not. Index: cli_login_code_expires_at_index.
DELETE FROM cli_login_code
WHERE expires_at < now() AT TIME ZONE 'UTC'

-- name: insert_cli_code
-- A one-time CLI login code (its SHA-256 only), valid for 60 seconds.
INSERT INTO cli_login_code (code_hash, user_id, created_at, expires_at)
VALUES (
    %(code_hash)s,
    %(user_id)s,
    now() AT TIME ZONE 'UTC',
    now() AT TIME ZONE 'UTC' + interval '60 seconds'
)

-- name: update_cli_code_redeemed
-- Redeem a code atomically: the single UPDATE that wins returns the user, every other (replayed,
-- expired, concurrent twin on another replica) returns nothing. Index: cli_login_code_pkey.
UPDATE cli_login_code
SET redeemed_at = now() AT TIME ZONE 'UTC'
WHERE code_hash = %(code_hash)s
  AND redeemed_at IS NULL
  AND expires_at >= now() AT TIME ZONE 'UTC'
RETURNING user_id
