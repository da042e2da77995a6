"""Server metadata queries."""

from typing import Any

import psycopg

from conbench import sql

_Q = sql.load("meta")


def get_schema_state(conn: psycopg.Connection) -> dict[str, Any]:
    """Ledger version and Alembic revision, each None when its table does not exist."""
    present = conn.execute(_Q["get_table_presence"]).fetchone() or {}
    state: dict[str, Any] = {"schema_version": None, "alembic_version": None}
    if present.get("ledger"):
        state["schema_version"] = _scalar(conn, "get_schema_version")
    if present.get("alembic"):
        state["alembic_version"] = _scalar(conn, "get_alembic_version")
    return state


def _scalar(conn: psycopg.Connection, name: str) -> Any:
    row = conn.execute(_Q[name]).fetchone()
    return row["value"] if row else None
