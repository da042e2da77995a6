-- name: list_commits_recent
-- The newest 500 commits by timestamp, NULL timestamps last. No index orders commits by timestamp
-- across repositories: a top-N heapsort over the commit table (small next to benchmark_result).
SELECT *
FROM commit
ORDER BY timestamp DESC NULLS LAST, id DESC
LIMIT 500

-- name: list_commits_by_sha
-- Every commit with one of these SHAs, in any repository. Index: commit_index (sha leads).
SELECT *
FROM commit
WHERE sha = ANY(%(shas)s)
ORDER BY timestamp DESC NULLS LAST, id DESC

-- name: get_commit
-- One commit and the id of its parent's row in the same repository (NULL when absent).
-- Index: commit_pkey, then commit_index for the parent.
SELECT
    c.*,
    (
        SELECT p.id
        FROM commit AS p
        WHERE p.sha = c.parent
            AND p.repository = c.repository
    ) AS parent_id
FROM commit AS c
WHERE c.id = %(id)s

-- name: list_hardware
-- The first 500 hardware rows by name. Index: hardware_index (name leads).
SELECT *
FROM hardware
ORDER BY name, id
LIMIT 500

-- name: get_hardware
-- One hardware row. Index: hardware_pkey.
SELECT *
FROM hardware
WHERE id = %(id)s

-- name: list_contexts
-- The first 500 contexts by id. Index: context_pkey.
SELECT id, tags
FROM context
ORDER BY id
LIMIT 500

-- name: get_context
-- One context. Index: context_pkey.
SELECT id, tags
FROM context
WHERE id = %(id)s

-- name: list_info
-- The first 500 info rows by id. Index: info_pkey.
SELECT id, tags
FROM info
ORDER BY id
LIMIT 500

-- name: get_info
-- One info row. Index: info_pkey.
SELECT id, tags
FROM info
WHERE id = %(id)s

-- name: list_users
-- Every user by id (the table is small: people, not results). Index: user_pkey.
SELECT id, email, name
FROM "user"
ORDER BY id

-- name: get_user
-- One user. Index: user_pkey.
SELECT id, email, name
FROM "user"
WHERE id = %(id)s

-- name: get_user_for_update
-- One user, locked until the transaction ends (alert-rule inserts take a key-share lock on it,
-- so none can slip in while the user is deleted). Index: user_pkey.
SELECT id
FROM "user"
WHERE id = %(id)s
FOR UPDATE

-- name: insert_user
-- A new user; `password` holds the unusable marker `!` (no stored passwords).
-- A duplicate email violates ix_user_email.
INSERT INTO "user" (id, email, name, password)
VALUES (%(id)s, %(email)s, %(name)s, '!')
RETURNING id, email, name

-- name: update_user
-- Change email and/or name (NULL keeps the stored value); a clashing email violates ix_user_email.
-- Index: user_pkey.
UPDATE "user"
SET email = COALESCE(%(email)s, email),
    name = COALESCE(%(name)s, name)
WHERE id = %(id)s

-- name: exists_user_alert_rule
-- Whether the user owns any alert rule. Index: alert_rule_user_id_index.
SELECT EXISTS (
    SELECT 1
    FROM alert_rule
    WHERE user_id = %(id)s
) AS value

-- name: delete_user_api_tokens
-- The user's API tokens, revoked or not. No index on api_token.user_id: a scan of a small table.
DELETE FROM api_token
WHERE user_id = %(id)s

-- name: delete_user_cli_login_codes
-- The user's CLI login codes. No index on cli_login_code.user_id: the table holds only codes of
-- the last minute (expired rows are deleted on every issue).
DELETE FROM cli_login_code
WHERE user_id = %(id)s

-- name: delete_user
-- Delete one user. Index: user_pkey.
DELETE FROM "user"
WHERE id = %(id)s
