"""Database access: a per-process connection pool and one place that translates DB errors."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import set_json_loads
from psycopg_pool import ConnectionPool

from conbench import jsoncodec
from conbench.errors import ServiceUnavailable

# json and jsonb columns are read by orjson (through jsoncodec, which keeps the values the standard
# library gives): a legacy result row carries eight such documents.
set_json_loads(jsoncodec.loads)

APPLICATION_NAME = "conbench-server"


def session_options(statement_timeout_ms: int = 30_000) -> str:
    """Settings every session starts with: UTC timestamps and a bound on any one statement."""
    return f"-c TimeZone=UTC -c statement_timeout={statement_timeout_ms}"


def connect(
    url: str, *, application_name: str = "conbench-cli", **kwargs: Any
) -> psycopg.Connection:
    """One connection for a command-line job (migrate, admin ...), rows as dicts."""
    kwargs.setdefault("options", session_options(0))
    return psycopg.connect(url, application_name=application_name, row_factory=dict_row, **kwargs)


class Database:
    """A lazily opened connection pool, one per process (gunicorn workers fork after start)."""

    def __init__(self, url: str, *, max_size: int = 8, statement_timeout_ms: int = 30_000) -> None:
        self.url = url
        self.max_size = max_size
        self.statement_timeout_ms = statement_timeout_ms
        self._pool: ConnectionPool | None = None
        self._pid: int | None = None

    def _get_pool(self) -> ConnectionPool:
        if self._pool is None or self._pid != os.getpid():
            self._pool = ConnectionPool(
                self.url,
                min_size=1,
                max_size=self.max_size,
                kwargs={
                    "autocommit": True,
                    "row_factory": dict_row,
                    "application_name": APPLICATION_NAME,
                    "options": session_options(self.statement_timeout_ms),
                },
                open=True,
                name="conbench",
            )
            self._pid = os.getpid()
        return self._pool

    def open(self) -> None:
        """Open the pool now (gunicorn's post_fork) rather than on the first request."""
        self._get_pool()

    @contextmanager
    def connection(self, statement_timeout_ms: int | None = None) -> Iterator[psycopg.Connection]:
        """A connection in autocommit mode; wrap multi-step writes in `conn.transaction()`.
        `statement_timeout_ms` overrides the session's bound for this checkout only."""
        with translate_errors(), self._get_pool().connection() as conn:
            if statement_timeout_ms is None:
                yield conn
                return
            _set_timeout(conn, statement_timeout_ms, local=False)
            try:
                yield conn
            finally:
                _set_timeout(conn, self.statement_timeout_ms, local=False)

    def close(self) -> None:
        if self._pool is not None and self._pid == os.getpid():
            self._pool.close()
        self._pool = None


class SingleConnectionDatabase:
    """A Database over one existing connection: tests run the app inside a rolled-back transaction,
    where the app's own `conn.transaction()` blocks become savepoints."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def open(self) -> None:
        pass

    @contextmanager
    def connection(self, statement_timeout_ms: int | None = None) -> Iterator[psycopg.Connection]:
        with translate_errors():
            if statement_timeout_ms is None:
                yield self.conn
                return
            _set_timeout(self.conn, statement_timeout_ms, local=True)
            yield self.conn

    def close(self) -> None:
        pass


def _set_timeout(conn: psycopg.Connection, milliseconds: int, *, local: bool) -> None:
    conn.execute("SELECT set_config('statement_timeout', %s, %s)", (str(milliseconds), local))


class QueryTimeout(ServiceUnavailable):
    """A statement hit its timeout; routes may answer it differently (modern 422, compare 504)."""


@contextmanager
def translate_errors() -> Iterator[None]:
    """Turn database failures that are not the caller's fault into 503s with a clear message."""
    try:
        yield
    except psycopg.errors.QueryCanceled as exc:
        raise QueryTimeout(
            "the database query took too long and was cancelled; narrow the request"
        ) from exc
    except psycopg.OperationalError as exc:
        raise ServiceUnavailable("the database is unavailable; try again shortly") from exc
