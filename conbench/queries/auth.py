"""API tokens, sessions' users and CLI login codes (sql/auth.sql)."""

from __future__ import annotations

from typing import Any

import psycopg

from conbench import sql
from conbench.ids import new_id
from conbench.tokens import code_hash, new_token, token_hash, token_prefix

_Q = sql.load("auth")

Row = dict[str, Any]

DEV_USER_EMAIL = "dev@conbench.local"
DEV_USER_NAME = "Dev (seeded)"
DEV_TOKEN_NAME = "dev seed token"


def get_live_token(conn: psycopg.Connection, plaintext: str) -> Row | None:
    """The non-revoked token with this plaintext: `{id, user_id, token_hash, last_used_at}`."""
    return conn.execute(
        _Q["get_live_token_by_hash"], {"token_hash": token_hash(plaintext)}
    ).fetchone()


def get_bridge_token(conn: psycopg.Connection, email: str, plaintext: str) -> Row | None:
    """The non-revoked token with this plaintext, if its owner's email is `email` (any case)."""
    return conn.execute(
        _Q["get_bridge_token"], {"token_hash": token_hash(plaintext), "email": email}
    ).fetchone()


def get_session_user(conn: psycopg.Connection, user_id: str, token_id: str | None) -> Row | None:
    """`{id, email, name, token_last_used_at}` of a session, or None when it no longer holds."""
    return conn.execute(
        _Q["get_session_user"], {"user_id": user_id, "token_id": token_id}
    ).fetchone()


def stamp_token_used(conn: psycopg.Connection, token_id: str) -> bool:
    """Set `last_used_at = now` unless it is younger than 5 minutes; True when stamped."""
    return conn.execute(_Q["update_token_last_used"], {"id": token_id}).rowcount == 1


def create_token(conn: psycopg.Connection, user_id: str, name: str) -> Row:
    """A new token for the user: `{id, user_id, name, prefix, created_at, token}`, where `token`
    is the plaintext, which is not stored and cannot be shown again."""
    plaintext = new_token()
    row = conn.execute(
        _Q["insert_token"],
        {
            "id": new_id(),
            "user_id": user_id,
            "name": name,
            "token_hash": token_hash(plaintext),
            "prefix": token_prefix(plaintext),
        },
    ).fetchone()
    assert row is not None
    return {**row, "token": plaintext}


def list_tokens(conn: psycopg.Connection, user_id: str) -> list[Row]:
    """The user's tokens, newest first, revoked ones included."""
    return conn.execute(_Q["list_user_tokens"], {"user_id": user_id}).fetchall()


def revoke_token(conn: psycopg.Connection, user_id: str, token_id: str) -> bool:
    """Revoke the user's token (again is fine); False for an unknown id or another user's."""
    return (
        conn.execute(_Q["update_user_token_revoked"], {"id": token_id, "user_id": user_id}).rowcount
        == 1
    )


def get_or_create_user(conn: psycopg.Connection, email: str, name: str) -> Row:
    """`{id, email, name, created}` of the user with this email, created (password marker `!`)
    when missing; a concurrent creation of the same email is read back, not an error."""
    for _ in range(3):
        row = conn.execute(
            _Q["get_or_create_user"], {"id": new_id(), "email": email, "name": name}
        ).fetchone()
        if row is not None:
            return row
    raise RuntimeError(f"could not get or create the user of {email!r}")


def seed_token(
    conn: psycopg.Connection, plaintext: str, *, email: str, user_name: str, token_name: str
) -> Row | None:
    """Store `plaintext` as a token of the (get-or-created) user; None when a token with its hash
    already exists, so seeding at every start is a no-op after the first."""
    digest = token_hash(plaintext)
    with conn.transaction():
        if conn.execute(_Q["exists_token_hash"], {"token_hash": digest}).fetchone()["value"]:
            return None
        user = get_or_create_user(conn, email, user_name)
        return conn.execute(
            _Q["insert_token_unless_hash_exists"],
            {
                "id": new_id(),
                "user_id": user["id"],
                "name": token_name,
                "token_hash": digest,
                "prefix": token_prefix(plaintext),
            },
        ).fetchone()


def seed_dev_token(conn: psycopg.Connection, plaintext: str) -> Row | None:
    """07 §10: the token of `dev@conbench.local` named `dev seed token`; None if present."""
    return seed_token(
        conn, plaintext, email=DEV_USER_EMAIL, user_name=DEV_USER_NAME, token_name=DEV_TOKEN_NAME
    )


def issue_cli_code(conn: psycopg.Connection, user_id: str, code: str) -> None:
    """Store the hash of a one-time CLI code for the user (60 s), clearing expired codes first."""
    with conn.transaction():
        conn.execute(_Q["delete_expired_cli_codes"])
        conn.execute(_Q["insert_cli_code"], {"code_hash": code_hash(code), "user_id": user_id})


def redeem_cli_code(conn: psycopg.Connection, code: str, token_name: str) -> Row | None:
    """Redeem a code for a new token of its user (as `create_token`), or None when the code is
    unknown, expired or already redeemed. One transaction: no code is spent without a token."""
    with conn.transaction():
        row = conn.execute(
            _Q["update_cli_code_redeemed"], {"code_hash": code_hash(code)}
        ).fetchone()
        if row is None:
            return None
        return create_token(conn, row["user_id"], token_name)
