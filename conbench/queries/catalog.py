"""The legacy catalogs: commits, hardware, contexts, info and users."""

from __future__ import annotations

from typing import Any

import psycopg

from conbench import sql
from conbench.ids import new_id

_Q = sql.load("catalog")

Row = dict[str, Any]


class EmailTaken(Exception):
    """Another user already has this email address."""


class OwnsAlertRules(Exception):
    """The user owns alert rules, which would lose their owner."""


def list_commits(conn: psycopg.Connection, shas: list[str] | None = None) -> list[Row]:
    """Commits with these SHAs (any repository), or the newest 500 when `shas` is None."""
    if shas is None:
        return conn.execute(_Q["list_commits_recent"]).fetchall()
    return conn.execute(_Q["list_commits_by_sha"], {"shas": shas}).fetchall()


def get_commit(conn: psycopg.Connection, commit_id: str) -> Row | None:
    """One commit with `parent_id`, the id of its parent's row in the same repository (or None)."""
    return conn.execute(_Q["get_commit"], {"id": commit_id}).fetchone()


def list_hardware(conn: psycopg.Connection) -> list[Row]:
    """The first 500 hardware rows by name."""
    return conn.execute(_Q["list_hardware"]).fetchall()


def get_hardware(conn: psycopg.Connection, hardware_id: str) -> Row | None:
    return conn.execute(_Q["get_hardware"], {"id": hardware_id}).fetchone()


# The two tag catalogs, by their URL collection name: (list query, get query).
_TAG_QUERIES = {"contexts": ("list_contexts", "get_context"), "info": ("list_info", "get_info")}


def list_tag_rows(conn: psycopg.Connection, collection: str) -> list[Row]:
    """The first 500 rows of `collection` ("contexts" | "info") by id, as `{id, tags}`."""
    return conn.execute(_Q[_TAG_QUERIES[collection][0]]).fetchall()


def get_tag_row(conn: psycopg.Connection, collection: str, row_id: str) -> Row | None:
    """One context or info row as `{id, tags}`."""
    return conn.execute(_Q[_TAG_QUERIES[collection][1]], {"id": row_id}).fetchone()


def list_users(conn: psycopg.Connection) -> list[Row]:
    return conn.execute(_Q["list_users"]).fetchall()


def get_user(conn: psycopg.Connection, user_id: str) -> Row | None:
    return conn.execute(_Q["get_user"], {"id": user_id}).fetchone()


def insert_user(conn: psycopg.Connection, email: str, name: str) -> Row:
    """A new user without a password; raises EmailTaken."""
    try:
        with conn.transaction():
            row = conn.execute(
                _Q["insert_user"], {"id": new_id(), "email": email, "name": name}
            ).fetchone()
    except psycopg.errors.UniqueViolation:
        raise EmailTaken(email) from None
    assert row is not None
    return row


def update_user(
    conn: psycopg.Connection, user_id: str, *, email: str | None, name: str | None
) -> Row | None:
    """Change the given fields (None keeps them); None for an unknown user; raises EmailTaken."""
    try:
        with conn.transaction():
            count = conn.execute(
                _Q["update_user"], {"id": user_id, "email": email, "name": name}
            ).rowcount
    except psycopg.errors.UniqueViolation:
        raise EmailTaken(email) from None
    return get_user(conn, user_id) if count else None


def delete_user(conn: psycopg.Connection, user_id: str) -> bool:
    """Delete a user with their API tokens and CLI login codes; False for an unknown user. Raises
    OwnsAlertRules, deleting nothing, while the user owns alert rules."""
    with conn.transaction():
        if conn.execute(_Q["get_user_for_update"], {"id": user_id}).fetchone() is None:
            return False
        if conn.execute(_Q["exists_user_alert_rule"], {"id": user_id}).fetchone()["value"]:
            raise OwnsAlertRules(user_id)
        for query in ("delete_user_api_tokens", "delete_user_cli_login_codes", "delete_user"):
            conn.execute(_Q[query], {"id": user_id})
    return True
