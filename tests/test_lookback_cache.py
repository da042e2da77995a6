"""The lookback distribution cache (migration 6): a stored distribution always equals a fresh
computation, whatever was written since, and a request that loses the fill race stores nothing."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from conbench.queries import lookback
from conbench.queries.ancestry import ancestors
from tests.factories import make_commit, make_hardware, make_result

BASE = datetime(2024, 3, 1, 12, 0)
VALUES = [10.0, 10.4, 9.8, 10.1, 12.5, 10.2, 9.9, 10.3]


def _commit(conn: psycopg.Connection, commit_id: str) -> dict[str, Any]:
    return conn.execute("SELECT * FROM commit WHERE id = %s", (commit_id,)).fetchone()


def _uncached(conn: psycopg.Connection, commit_id: str, fingerprints: list[str]) -> dict:
    commit = _commit(conn, commit_id)
    ancestry = ancestors(conn, commit, limit=lookback.LOOKBACK_LIMIT)
    return lookback._compute(conn, ancestry, sorted(fingerprints))


def _checked(conn: psycopg.Connection, commit_id: str, fingerprints: list[str]) -> dict:
    """lookback_for (through the cache) after asserting it equals a fresh computation."""
    found = lookback.lookback_for(conn, _commit(conn, commit_id), fingerprints)
    assert found == _uncached(conn, commit_id, fingerprints)
    return found


def _stored(conn: psycopg.Connection, commit_id: str) -> dict[str, tuple]:
    rows = conn.execute(
        "SELECT history_fingerprint, dist_mean, dist_std FROM lookback_distribution"
        " WHERE commit_id = %s",
        (commit_id,),
    ).fetchall()
    return {row["history_fingerprint"]: (row["dist_mean"], row["dist_std"]) for row in rows}


@pytest.fixture
def history(conn: psycopg.Connection) -> SimpleNamespace:
    """Eight default-branch commits a day apart with one result of one series each, and a
    branch commit forking from the fifth with a result too."""
    make_hardware(conn)
    commits = [
        make_commit(conn, f"main-{i:02d}", timestamp=BASE + timedelta(days=i)) for i in range(8)
    ]
    results = [
        make_result(conn, commit=c, data=[v, v + 0.1, v + 0.2])
        for c, v in zip(commits, VALUES, strict=True)
    ]
    branch = make_commit(
        conn,
        "pr-01",
        branch="fork:feature",
        fork_point_sha="main-04",
        timestamp=BASE + timedelta(days=4, hours=6),
    )
    make_result(conn, commit=branch, data=[11.0, 11.1, 11.2])
    return SimpleNamespace(
        commits=[c["id"] for c in commits],
        branch=branch["id"],
        fp=results[0]["history_fingerprint"],
    )


def _insert_result(conn: psycopg.Connection, commit_id: str, value: float) -> None:
    make_result(conn, commit=_commit(conn, commit_id), data=[value, value, value])


def test_second_call_is_served_from_the_cache_without_reading_results(conn, history, monkeypatch):
    _checked(conn, history.commits[6], [history.fp, "f" * 32])  # creates the epoch of "f" * 32
    first = _checked(conn, history.commits[6], [history.fp, "f" * 32])
    assert _stored(conn, history.commits[6])[history.fp] == first[history.fp]
    executed = []
    original = psycopg.Connection.execute

    def recording(self, query, *args, **kwargs):
        executed.append(query)
        return original(self, query, *args, **kwargs)

    commit = _commit(conn, history.commits[6])
    monkeypatch.setattr(psycopg.Connection, "execute", recording)
    again = lookback.lookback_for(conn, commit, [history.fp, "f" * 32])
    assert again == first
    assert executed == [lookback._Q["list_cached_distributions"]]


def test_a_fingerprint_without_results_is_stored_once_its_epoch_exists(conn, history):
    assert _checked(conn, history.commits[6], ["e" * 32]) == {"e" * 32: (None, None)}
    assert _stored(conn, history.commits[6]) == {}  # no epoch row yet: created now
    _checked(conn, history.commits[6], ["e" * 32])
    assert _stored(conn, history.commits[6]) == {"e" * 32: (None, None)}
    _insert_result(conn, history.commits[3], 10.0)  # another series: nothing changes
    assert "e" * 32 in _stored(conn, history.commits[6])


def test_new_result_on_an_ancestor_replaces_the_stored_distribution(conn, history):
    before = _checked(conn, history.commits[6], [history.fp])
    _insert_result(conn, history.commits[3], 14.0)
    assert _stored(conn, history.commits[6]) == {}
    assert _checked(conn, history.commits[6], [history.fp]) != before


def test_result_on_a_commit_outside_the_window_keeps_the_stored_distribution(conn, history):
    before = _checked(conn, history.commits[5], [history.fp])
    _insert_result(conn, history.commits[7], 14.0)  # newer than the baseline
    _insert_result(conn, history.branch, 14.0)  # off the default branch
    assert _stored(conn, history.commits[5]) == before
    assert _checked(conn, history.commits[5], [history.fp]) == before


def test_branch_baseline_sees_results_on_its_own_branch(conn, history):
    before = _checked(conn, history.branch, [history.fp])
    _insert_result(conn, history.commits[2], 10.9)
    assert _stored(conn, history.branch) == {}
    assert _checked(conn, history.branch, [history.fp]) != before


def test_begins_distribution_change_annotation_replaces_the_stored_distribution(conn, history):
    before = _checked(conn, history.commits[7], [history.fp])
    conn.execute(
        "UPDATE benchmark_result SET change_annotations = %s WHERE commit_id = %s",
        ('{"note": "x"}', history.commits[5]),
    )
    assert _stored(conn, history.commits[7]) == before  # another annotation: nothing to redo
    conn.execute(
        "UPDATE benchmark_result SET change_annotations = %s WHERE commit_id = %s",
        ('{"begins_distribution_change": true}', history.commits[5]),
    )
    assert _stored(conn, history.commits[7]) == {}
    assert _checked(conn, history.commits[7], [history.fp]) != before


def test_deleted_result_replaces_the_stored_distribution(conn, history):
    before = _checked(conn, history.commits[7], [history.fp])
    conn.execute("DELETE FROM benchmark_result WHERE commit_id = %s", (history.commits[4],))
    assert _stored(conn, history.commits[7]) == {}
    assert _checked(conn, history.commits[7], [history.fp]) != before


def test_bulk_insert_replaces_the_stored_distribution(conn, history):
    before = _checked(conn, history.commits[7], [history.fp])
    conn.execute(
        "INSERT INTO benchmark_result SELECT (json_populate_record(r, json_build_object("
        "'id', r.id || g, 'run_id', 'bulk-' || g, 'mean', r.mean * 2, 'min', r.min * 2,"
        "'max', r.max * 2, 'data', ARRAY[r.min * 2, r.max * 2, r.max * 2]))).*"
        " FROM benchmark_result AS r, generate_series(1, 50) AS g WHERE r.commit_id = %s",
        (history.commits[6],),
    )
    assert _stored(conn, history.commits[7]) == {}
    assert _checked(conn, history.commits[7], [history.fp]) != before


def test_new_commit_inside_a_full_window_replaces_the_stored_distribution(
    conn, history, monkeypatch
):
    monkeypatch.setattr(lookback, "LOOKBACK_LIMIT", 5)  # ancestors 7, 6, 5, 4, 3
    before = _checked(conn, history.commits[7], [history.fp])
    make_commit(conn, "main-old", timestamp=BASE + timedelta(hours=12))  # older than the window
    make_commit(conn, "main-new", timestamp=BASE + timedelta(days=9))  # newer than every window
    assert _stored(conn, history.commits[7]) == before
    make_commit(conn, "main-05b", timestamp=BASE + timedelta(days=5, hours=12))  # pushes 3 out
    assert _stored(conn, history.commits[7]) == {}
    assert _checked(conn, history.commits[7], [history.fp]) != before


def test_commit_enrichment_changing_timestamp_or_fork_point_replaces_stored_rows(conn, history):
    before = _checked(conn, history.commits[7], [history.fp])
    branch_before = _checked(conn, history.branch, [history.fp])
    conn.execute("UPDATE commit SET message = 'enriched' WHERE id = %s", (history.commits[4],))
    assert _stored(conn, history.commits[7]) == before
    conn.execute(
        "UPDATE commit SET timestamp = %s WHERE id = %s",
        (BASE + timedelta(days=6, hours=12), history.commits[4]),  # the spike moves later
    )
    assert _stored(conn, history.commits[7]) == {}
    assert _stored(conn, history.branch) == {}
    assert _checked(conn, history.commits[7], [history.fp]) != before
    _checked(conn, history.branch, [history.fp])
    conn.execute("UPDATE commit SET fork_point_sha = 'main-02' WHERE id = %s", (history.branch,))
    assert _stored(conn, history.branch) == {}
    assert _checked(conn, history.branch, [history.fp]) != branch_before


def test_unknown_commit_enriched_into_the_window_replaces_stored_rows(conn, history):
    before = _checked(conn, history.commits[7], [history.fp])
    unknown = make_commit(conn, "late-01", unknown=True)
    _insert_result(conn, unknown["id"], 10.9)
    assert _stored(conn, history.commits[7]) == before
    conn.execute(
        "UPDATE commit SET timestamp = %s, fork_point_sha = sha, branch = 'org:main' WHERE id = %s",
        (BASE + timedelta(days=6, hours=1), unknown["id"]),
    )
    assert _stored(conn, history.commits[7]) == {}
    assert _checked(conn, history.commits[7], [history.fp]) != before


def test_caller_with_an_outdated_commit_copy_computes_from_it_and_stores_nothing(conn, history):
    _checked(conn, history.commits[7], [history.fp])
    copy = dict(_commit(conn, history.commits[7]), timestamp=BASE + timedelta(days=3, hours=1))
    found = lookback.lookback_for(conn, copy, [history.fp])
    ancestry = ancestors(conn, copy, limit=lookback.LOOKBACK_LIMIT)
    assert found == lookback._compute(conn, ancestry, [history.fp])
    conn.execute("DELETE FROM lookback_distribution")
    lookback.lookback_for(conn, copy, [history.fp])
    assert _stored(conn, history.commits[7]) == {}


def test_json_copy_of_the_commit_uses_the_cache(conn, history):
    commit = conn.execute(
        "SELECT to_jsonb(c) AS commit FROM commit AS c WHERE id = %s", (history.commits[7],)
    ).fetchone()["commit"]
    first = lookback.lookback_for(conn, commit, [history.fp])
    assert _stored(conn, history.commits[7]) == first
    assert lookback.lookback_for(conn, commit, [history.fp]) == first


def test_a_failure_to_store_is_logged_and_the_request_goes_on(conn, history, monkeypatch, caplog):
    broken = dict(lookback._Q, insert_distributions="INSERT INTO no_such_table VALUES (1)")
    monkeypatch.setattr(lookback, "_Q", broken)
    with caplog.at_level(logging.WARNING, logger="conbench.queries.lookback"):
        found = lookback.lookback_for(conn, _commit(conn, history.commits[7]), [history.fp])
    assert found == _uncached(conn, history.commits[7], [history.fp])
    assert "lookback cache not stored" in caplog.text
    assert _stored(conn, history.commits[7]) == {}


# ---------------------------------------------------------------- the fill race (real commits)


@pytest.fixture
def two_sessions(fresh_db_url: str):
    reader = psycopg.connect(fresh_db_url, autocommit=True, row_factory=dict_row)
    writer = psycopg.connect(fresh_db_url, autocommit=True, row_factory=dict_row)
    yield reader, writer
    reader.close()
    writer.close()


def test_writer_committing_while_the_reader_computes_keeps_it_from_storing(
    two_sessions, monkeypatch
):
    reader, writer = two_sessions
    h = SimpleNamespace(**vars(_history_committed(writer)))
    compute = lookback._compute

    def compute_then_write(conn, ancestry, fingerprints):
        found = compute(conn, ancestry, fingerprints)
        _insert_result(writer, h.commits[3], 14.0)  # commits before the reader stores
        return found

    monkeypatch.setattr(lookback, "_compute", compute_then_write)
    lookback.lookback_for(reader, _commit(reader, h.commits[6]), [h.fp])
    monkeypatch.setattr(lookback, "_compute", compute)
    assert _stored(reader, h.commits[6]) == {}
    _checked(reader, h.commits[6], [h.fp])
    assert _stored(reader, h.commits[6]) != {}


def test_writer_in_flight_while_the_reader_stores_keeps_it_from_storing(two_sessions):
    reader, writer = two_sessions
    h = _history_committed(writer)
    with writer.transaction():
        _insert_result(writer, h.commits[3], 14.0)  # epoch row locked until commit
        stale = lookback.lookback_for(reader, _commit(reader, h.commits[6]), [h.fp])
        assert _stored(reader, h.commits[6]) == {}
    assert _checked(reader, h.commits[6], [h.fp]) != stale


def _history_committed(conn: psycopg.Connection) -> SimpleNamespace:
    make_hardware(conn)
    commits = [
        make_commit(conn, f"main-{i:02d}", timestamp=BASE + timedelta(days=i)) for i in range(8)
    ]
    results = [
        make_result(conn, commit=c, data=[v, v + 0.1, v + 0.2])
        for c, v in zip(commits, VALUES, strict=True)
    ]
    return SimpleNamespace(commits=[c["id"] for c in commits], fp=results[0]["history_fingerprint"])
