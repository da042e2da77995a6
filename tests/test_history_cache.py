"""The history response cache (docs/history-cache.md): every history route answers byte for byte
what it computes without the cache, after every kind of write, and a hit is one statement."""

from __future__ import annotations

import dataclasses
import logging
from contextlib import contextmanager
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from falcon import testing
from psycopg.rows import dict_row

from conbench.config import Settings
from conbench.db import Database
from conbench.queries import history
from tests.factories import make_commit, make_result

BASE = datetime(2024, 3, 1, 9, 0)
VALUES = [10.0, 10.1, 9.9, 10.0, 10.2, 9.8, 15.0, 12.0]


def _series(conn: psycopg.Connection) -> SimpleNamespace:
    """Eight daily default-branch commits with one result each, in one series."""
    same: dict[str, Any] = {}
    commits, results = [], []
    for day, value in enumerate(VALUES):
        when = BASE + timedelta(days=day)
        commit = make_commit(conn, f"hist-cache-{day:02d}", timestamp=when)
        row = make_result(
            conn, commit=commit, data=[value, value + 0.1, value + 0.2],
            timestamp=when + timedelta(hours=1), run_tags={"name": f"run-{day}"}, **same,
        )  # fmt: skip
        same = {k: row[k] for k in ("case_id", "context_id", "info_id", "hardware_id")}
        commits.append(commit)
        results.append(row)
    return SimpleNamespace(
        commits=commits, results=results, same=same, fp=results[0]["history_fingerprint"]
    )


def _paths(s: SimpleNamespace) -> list[tuple[str, str | None]]:
    head = s.results[-1]["id"]
    return [
        (f"/api/history/{head}/", None),
        (f"/api/history/download/{head}/", None),
        (f"/api/history/{head}", None),
        ("/api/history", f"fingerprint={s.fp}"),
        (f"/api/history/{s.results[0]['id']}", None),
    ]


def _responses(client: testing.TestClient, s: SimpleNamespace) -> list[tuple]:
    """Status, headers that matter and body of every route; the CSV's `generated at` line (the
    clock) left out."""
    found = []
    for path, query in _paths(s):
        resp = client.simulate_get(path, query_string=query)
        body = resp.content
        if "download" in path:
            body = b"\n".join(
                line for line in body.split(b"\n") if not line.startswith(b"# generated at")
            )
        found.append((
            resp.status_code, resp.headers.get("content-type"),
            resp.headers.get("content-disposition"), body,
        ))  # fmt: skip
    return found


def _stored(conn: psycopg.Connection) -> set[str]:
    """The variants of history_cache rows that are valid now."""
    rows = conn.execute(
        "SELECT hc.variant FROM history_cache AS hc"
        " LEFT JOIN lookback_epoch AS e ON e.key = hc.history_fingerprint"
        " WHERE hc.epoch = coalesce(e.epoch, 0)"
    ).fetchall()
    return {row["variant"] for row in rows}


def _uncached(conn: psycopg.Connection, client: testing.TestClient, s: SimpleNamespace) -> list:
    """The responses computed without any stored row (which they store again)."""
    conn.execute("DELETE FROM history_cache")
    return _responses(client, s)


@pytest.fixture
def warm(conn, client) -> SimpleNamespace:
    """A series whose every history response is stored (and served from the cache)."""
    s = _series(conn)
    first = _responses(client, s)
    assert _stored(conn) == {"modern", "csv", f"legacy:{_hardware_hash(conn, s)}"}
    assert _responses(client, s) == first
    s.before = first
    return s


def _hardware_hash(conn: psycopg.Connection, s: SimpleNamespace) -> str:
    row = conn.execute("SELECT hash FROM hardware WHERE id = %s", (s.same["hardware_id"],))
    return row.fetchone()["hash"]


def test_a_stored_response_equals_the_computed_one(conn, client):
    s = _series(conn)
    computed = _responses(client, s)
    assert len(_stored(conn)) == 3
    assert _responses(client, s) == computed
    assert _uncached(conn, client, s) == computed
    assert [status for status, *_ in computed] == [200] * 5


def test_a_hit_is_one_statement(conn, client, db, monkeypatch):
    s = _series(conn)
    _responses(client, s)
    statements: list[str] = []

    class Recording:
        def __init__(self, inner: psycopg.Connection) -> None:
            self.inner = inner

        def execute(self, query, *args, **kwargs):  # type: ignore[no-untyped-def]
            statements.append(str(query))
            return self.inner.execute(query, *args, **kwargs)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    @contextmanager
    def connection(statement_timeout_ms=None):  # type: ignore[no-untyped-def]
        yield Recording(conn)

    monkeypatch.setattr(db, "connection", connection)
    for path, query in _paths(s):
        statements.clear()
        assert client.simulate_get(path, query_string=query).status_code == 200
        assert len(statements) == 1, (path, statements)
        assert "history_cache" in statements[0]


def test_new_member_is_served_after_its_insert(conn, client, warm):
    commit = make_commit(conn, "hist-cache-new", timestamp=BASE + timedelta(days=20))
    make_result(conn, commit=commit, data=[30.0, 30.1, 30.2], **warm.same)
    after = _responses(client, warm)
    assert after != warm.before
    assert b"hist-cache-new" in after[0][3]
    assert after == _uncached(conn, client, warm)


def test_errored_and_commitless_results_leave_responses_exact(conn, client, warm):
    commit = make_commit(conn, "hist-cache-err", timestamp=BASE + timedelta(days=21))
    make_result(conn, commit=commit, error={"stack": "boom"}, data=[], **warm.same)
    make_result(conn, data=[1.0, 2.0, 3.0], **warm.same)
    after = _responses(client, warm)
    assert after == _uncached(conn, client, warm)


def test_annotation_update_is_served_after_it(conn, client, warm):
    conn.execute(
        "UPDATE benchmark_result SET change_annotations = '{\"begins_distribution_change\": true}'"
        " WHERE id = %s",
        (warm.results[6]["id"],),
    )
    after = _responses(client, warm)
    assert after != warm.before
    assert after == _uncached(conn, client, warm)


def test_annotation_put_and_delete_through_the_api_are_served_after_them(conn, settings, db, warm):
    from conbench.app import create_app

    token = "operator-token-for-history-cache-tests"
    app = create_app(dataclasses.replace(settings, api_token=token), db)
    api = testing.TestClient(app, headers={"Authorization": f"Bearer {token}"})
    put = api.simulate_put(
        f"/api/benchmark-results/{warm.results[6]['id']}/",
        json={"change_annotations": {"begins_distribution_change": True}},
    )
    assert put.status_code == 200
    after_put = _responses(api, warm)
    assert after_put != warm.before
    assert after_put == _uncached(conn, api, warm)
    assert api.simulate_delete(f"/api/benchmarks/{warm.results[2]['id']}/").status_code == 204
    after_delete = _responses(api, warm)
    assert warm.results[2]["id"].encode() not in after_delete[0][3]
    assert after_delete == _uncached(conn, api, warm)


def test_any_result_update_is_served_after_it(conn, client, warm):
    conn.execute(
        'UPDATE benchmark_result SET run_tags = \'{"name": "renamed"}\' WHERE id = %s',
        (warm.results[2]["id"],),
    )
    after = _responses(client, warm)
    assert b"renamed" in after[0][3]
    assert after == _uncached(conn, client, warm)


def test_deleted_member_is_gone_after_its_delete(conn, client, warm):
    conn.execute("DELETE FROM benchmark_result WHERE id = %s", (warm.results[3]["id"],))
    after = _responses(client, warm)
    assert warm.results[3]["id"].encode() not in after[0][3]
    assert after == _uncached(conn, client, warm)


def test_commit_message_change_is_served_after_it(conn, client, warm):
    conn.execute(
        "UPDATE commit SET message = 'a better message' WHERE id = %s",
        (warm.commits[4]["id"],),
    )
    after = _responses(client, warm)
    assert b"a better message" in after[2][3]
    assert after == _uncached(conn, client, warm)


def test_commit_leaving_the_default_branch_is_served_after_it(conn, client, warm):
    conn.execute(
        "UPDATE commit SET fork_point_sha = 'elsewhere', branch = 'org:b' WHERE id = %s",
        (warm.commits[5]["id"],),
    )
    after = _responses(client, warm)
    assert warm.results[5]["id"].encode() not in after[2][3]
    assert after == _uncached(conn, client, warm)


def test_unknown_commit_enriched_into_the_history_is_served_after_it(conn, client, warm):
    unknown = make_commit(conn, "hist-cache-unknown", unknown=True)
    make_result(conn, commit=unknown, data=[20.0, 20.1, 20.2], **warm.same)
    assert _responses(client, warm) == _uncached(conn, client, warm)
    conn.execute(
        "UPDATE commit SET \"timestamp\" = %s, fork_point_sha = sha, branch = 'org:main',"
        " message = 'repaired' WHERE id = %s",
        (BASE + timedelta(days=3, hours=5), unknown["id"]),
    )
    after = _responses(client, warm)
    assert b"hist-cache-unknown" in after[0][3]
    assert after == _uncached(conn, client, warm)


def test_commit_author_change_keeps_the_stored_rows(conn, client, warm):
    conn.execute(
        "UPDATE commit SET author_name = 'someone' WHERE id = %s", (warm.commits[1]["id"],)
    )
    assert len(_stored(conn)) == 3
    assert _responses(client, warm) == warm.before


def test_bulk_insert_is_served_after_it(conn, client, warm):
    conn.execute(
        "INSERT INTO benchmark_result SELECT (json_populate_record(r, json_build_object("
        "'id', r.id || g, 'run_id', 'bulk-' || g, 'mean', r.mean * 2, 'min', r.min * 2,"
        "'max', r.max * 2, 'data', ARRAY[r.min * 2, r.max * 2, r.max * 2]))).*"
        " FROM benchmark_result AS r, generate_series(1, 50) AS g WHERE r.commit_id = %s",
        (warm.commits[6]["id"],),
    )
    after = _responses(client, warm)
    assert after != warm.before
    assert after == _uncached(conn, client, warm)


def test_truncate_forgets_every_stored_row(conn, client, warm):
    conn.execute("TRUNCATE benchmark_result CASCADE")
    assert conn.execute("SELECT count(*) AS n FROM history_cache").fetchone()["n"] == 0


def test_legacy_body_is_stored_per_hardware_hash(conn, client, warm):
    assert f"legacy:{_hardware_hash(conn, warm)}" in _stored(conn)


def test_a_failure_to_store_is_logged_and_the_request_goes_on(conn, client, caplog, monkeypatch):
    s = _series(conn)
    computed = _responses(client, s)
    conn.execute("DELETE FROM history_cache")
    conn.execute("ALTER TABLE history_cache ADD CONSTRAINT no_rows CHECK (false)")
    with caplog.at_level(logging.WARNING):
        assert _responses(client, s) == computed
    assert "history cache not stored" in caplog.text
    assert _stored(conn) == set()


def test_head_that_json_cannot_splice_is_computed_as_before(conn, client):
    s = _series(conn)
    conn.execute(
        'UPDATE "case" SET tags = tags || \'{"huge": 123456789012345678901234567890}\''
        " WHERE id = %s",
        (s.same["case_id"],),
    )
    computed = _responses(client, s)
    assert b"123456789012345678901234567890" in computed[2][3]
    assert _responses(client, s) == computed
    assert _uncached(conn, client, s) == computed


# Concurrent writers: real sessions that commit.


@pytest.fixture
def committed(fresh_db_url: str):
    """The app over its own pool on a database of its own, a writer session and a series."""
    writer = psycopg.connect(fresh_db_url, autocommit=True, row_factory=dict_row)
    database = Database(fresh_db_url, max_size=2)
    from conbench.app import create_app

    app = create_app(Settings.from_env({"CONBENCH_DB_URL": fresh_db_url}), database)
    s = _series(writer)
    yield SimpleNamespace(client=testing.TestClient(app), writer=writer, series=s, url=fresh_db_url)
    database.close()
    writer.close()


def _fresh(c: SimpleNamespace) -> list:
    c.writer.execute("DELETE FROM history_cache")
    return _responses(c.client, c.series)


def _add_member(conn: psycopg.Connection, s: SimpleNamespace, name: str, day: int) -> None:
    commit = make_commit(conn, name, timestamp=BASE + timedelta(days=day))
    make_result(conn, commit=commit, data=[40.0, 40.1, 40.2], **s.same)


def test_writer_committing_between_read_and_store_leaves_no_valid_row(committed, monkeypatch):
    c, s = committed, committed.series
    original = history.list_history_columns
    days = iter(range(30, 40))

    def write_then_read(conn, fingerprint, *, legacy=False):  # type: ignore[no-untyped-def]
        _add_member(c.writer, s, f"hist-cache-race-{next(days)}", 0)  # commits now
        return original(conn, fingerprint, legacy=legacy)

    monkeypatch.setattr(history, "list_history_columns", write_then_read)
    raced = _responses(c.client, s)
    monkeypatch.setattr(history, "list_history_columns", original)
    assert _stored(c.writer) == set()
    # The responses computed during the race were right for what they read; from now on the
    # stored rows are those of the committed data.
    assert b"hist-cache-race-34" in raced[4][3]
    after = _responses(c.client, s)
    assert _stored(c.writer)
    assert _responses(c.client, s) == after == _fresh(c)


def test_writer_in_flight_during_the_request_leaves_no_valid_row(committed):
    c, s = committed, committed.series
    with c.writer.transaction():
        _add_member(c.writer, s, "hist-cache-in-flight", 30)
        stale = _responses(c.client, s)
        assert b"hist-cache-in-flight" not in stale[0][3]
    assert _stored(c.writer) == set()
    after = _responses(c.client, s)
    assert b"hist-cache-in-flight" in after[0][3]
    assert after == _fresh(c)


def test_commit_update_waits_for_results_being_inserted_on_that_commit(committed):
    c, s = committed, committed.series
    unknown = make_commit(c.writer, "hist-cache-wait", unknown=True)
    other = psycopg.connect(c.url, autocommit=True, row_factory=dict_row)
    try:
        with other.transaction():
            make_result(other, commit=unknown, data=[5.0, 5.1, 5.2], **s.same)
            c.writer.execute("SET lock_timeout = '200ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                c.writer.execute(
                    "UPDATE commit SET message = 'waits' WHERE id = %s", (unknown["id"],)
                )
        epoch = c.writer.execute(
            "SELECT epoch FROM lookback_epoch WHERE key = %s", (s.fp,)
        ).fetchone()["epoch"]
        c.writer.execute("UPDATE commit SET message = 'waits' WHERE id = %s", (unknown["id"],))
        bumped = c.writer.execute(
            "SELECT epoch FROM lookback_epoch WHERE key = %s", (s.fp,)
        ).fetchone()["epoch"]
        assert bumped == epoch + 1
    finally:
        other.close()
