"""`GET /api/series` (02 §6): statuses, filters, the cursor and the bounds of the browse."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from conbench.queries import series as queries
from conbench.seed import seed_demo_data
from conbench.sql import load as load_queries
from tests.factories import make_case, make_commit, make_hardware, make_result
from tests.test_history import spread_results

BASE = datetime(2024, 5, 1, 8, 0)
STEADY = [10.0, 10.1, 9.9, 10.0, 10.2, 9.8]


def _commits(conn, count: int, *, repository: str | None = None, prefix: str = "c") -> list[dict]:
    """`count` default-branch commits a day apart, oldest first."""
    extra = {"repository": repository} if repository else {}
    return [
        make_commit(conn, f"{prefix}-{i:03d}", timestamp=BASE + timedelta(days=i), **extra)
        for i in range(count)
    ]


def _series(conn, name: str, commits: list[dict], values: list[float], **overrides) -> list[dict]:
    """One series: a single-sample result (unit s) of benchmark `name` on each commit."""
    rows = []
    case_id = make_case(conn, name, {})
    for commit, value in zip(commits, values, strict=True):
        when = commit["timestamp"] + timedelta(hours=1)
        row = make_result(
            conn, commit=commit, case_id=case_id, data=[value], timestamp=when, **overrides
        )
        rows.append(row)
    return rows


def _get(client, query: str = "") -> dict:
    resp = client.simulate_get("/api/series", query_string=query)
    assert resp.status_code == 200, resp.text
    return resp.json


def _by_name(body: dict) -> dict[str, dict]:
    return {item["name"]: item for item in body["series"]}


def test_demo_series_is_stable_against_its_preceding_points(client, conn):
    seed_demo_data(conn)
    body = _get(client)
    assert body["next_cursor"] is None and body["truncated"] is False
    [item] = body["series"]
    latest = conn.execute(
        "SELECT r.* FROM benchmark_result AS r JOIN commit AS c ON c.id = r.commit_id"
        " WHERE c.sha = 'commit-05'"
    ).fetchone()
    assert item == {
        "history_fingerprint": latest["history_fingerprint"],
        "name": "demo-benchmark",
        "tags": {"dataset": "uniform"},
        "context": {"compiler": "gcc-13", "optimization": "O2"},
        "hardware": {
            "id": latest["hardware_id"],
            "type": "machine",
            "name": "demo-runner",
            "hash": "demo-runner-0-10-10-34359738368",
        },
        "repository": "https://github.com/conbench/demo",
        "unit": "s",
        "less_is_better": True,
        "status": "stable",
        "latest_result_id": latest["id"],
        "latest_single_value_summary": 1.45,
        "latest_single_value_summary_type": "min",
        "latest_commit_sha": "commit-05",
        "latest_commit_timestamp": "2024-01-06T12:00:00Z",
        "latest_result_timestamp": "2024-01-06T12:00:00Z",
        "point_count": 5,
        "sparkline": [1.0, 1.05, 1.1, 1.4, 1.45],
    }


def test_threshold_z_decides_between_stable_and_regressed(client, conn):
    seed_demo_data(conn)
    # commit-05 scores z = -1.987 against commit-01..04 (04 §11 Example 2).
    assert _get(client, "threshold_z=2")["series"][0]["status"] == "stable"
    assert _get(client, "threshold_z=1.9")["series"][0]["status"] == "regressed"


def test_each_status_follows_the_latest_point_against_the_points_before_it(client, conn):
    commits = _commits(conn, 7)
    _series(conn, "regressed", commits, [*STEADY, 15.0])
    _series(conn, "improved", commits, [*STEADY, 8.0])
    _series(conn, "stable", commits, [*STEADY, 10.1])
    _series(conn, "insufficient", commits[-2:], [10.0, 30.0])
    items = _by_name(_get(client))
    assert {name: item["status"] for name, item in items.items()} == {
        "regressed": "regressed",
        "improved": "improved",
        "stable": "stable",
        "insufficient": "insufficient",
    }
    assert items["improved"]["point_count"] == 7
    assert items["improved"]["sparkline"] == [*STEADY, 8.0]


def test_rates_regress_when_they_drop(client, conn):
    commits = _commits(conn, 7)
    _series(conn, "throughput", commits, [*STEADY, 8.0], unit="B/s")
    [item] = _get(client)["series"]
    assert item["status"] == "regressed"
    assert item["less_is_better"] is False
    assert item["latest_single_value_summary_type"] == "max"


def test_the_latest_point_skips_errored_and_off_branch_results(client, conn):
    commits = _commits(conn, 8)
    rows = _series(conn, "bench", commits[:7], [*STEADY, 10.1])
    same = {k: rows[0][k] for k in ("case_id", "context_id", "info_id", "hardware_id")}
    make_result(conn, commit=commits[7], error={"stack": "boom"}, data=[], **same)
    branch = make_commit(
        conn, "pr-1", fork_point_sha=commits[6]["sha"], branch="org:pr",
        timestamp=BASE + timedelta(days=9),
    )  # fmt: skip
    make_result(conn, commit=branch, data=[50.0], **same)
    [item] = _get(client)["series"]
    assert item["latest_result_id"] == rows[-1]["id"]
    assert item["status"] == "stable"
    assert item["point_count"] == 7


def test_sparkline_holds_the_twenty_most_recent_values_oldest_first(client, conn):
    commits = _commits(conn, 25)
    values = [10.0 + i / 100 for i in range(25)]
    _series(conn, "long", commits, values)
    [item] = _get(client)["series"]
    assert item["sparkline"] == values[-20:]
    assert item["point_count"] == 25


def test_pages_follow_the_newest_commit_then_fingerprint_and_the_cursor_continues(client, conn):
    commits = _commits(conn, 3)
    for name in ("a", "b", "c"):
        _series(conn, name, commits, [1.0, 1.1, 1.2])
    _series(conn, "older", commits[:2], [1.0, 1.1])
    _series(conn, "oldest", commits[:1], [1.0])
    first = _get(client, "page_size=2")
    assert len(first["series"]) == 2 and first["next_cursor"]
    seen = [item["history_fingerprint"] for item in first["series"]]
    cursor = first["next_cursor"]
    while cursor:
        page = _get(client, f"page_size=2&cursor={cursor}")
        seen += [item["history_fingerprint"] for item in page["series"]]
        cursor = page["next_cursor"]
    everything = _get(client)["series"]
    assert seen == [item["history_fingerprint"] for item in everything]
    assert len(set(seen)) == 5
    names = [item["name"] for item in everything]
    assert names[3:] == ["older", "oldest"]
    newest = [item["history_fingerprint"] for item in everything[:3]]
    assert newest == sorted(newest)


def test_a_full_last_page_is_followed_by_an_empty_one(client, conn):
    commits = _commits(conn, 2)
    _series(conn, "a", commits, [1.0, 1.1])
    _series(conn, "b", commits, [1.0, 1.1])
    first = _get(client, "page_size=2")
    assert first["next_cursor"]
    last = _get(client, f"page_size=2&cursor={first['next_cursor']}")
    assert last == {"series": [], "next_cursor": None, "truncated": False}


def test_q_searches_benchmark_names_narrowly_and_broadly(client, conn):
    commits = _commits(conn, 2)
    _series(conn, "tpch-q01", commits, [1.0, 1.1])
    _series(conn, "file-write", commits, [1.0, 1.1])
    for i in range(65):
        _series(conn, f"many_{i:02d}", commits[1:], [1.0])
    assert [item["name"] for item in _get(client, "q=TPCH")["series"]] == ["tpch-q01"]
    broad = _get(client, "q=many_&page_size=100")
    assert len(broad["series"]) == 65
    assert all(item["name"].startswith("many_") for item in broad["series"])
    assert _get(client, "q=%25")["series"] == []  # a literal `%`, not a wildcard


def test_hardware_repository_and_fingerprint_filters(client, conn):
    commits = _commits(conn, 2)
    other = make_hardware(conn, "runner-2")
    here = _series(conn, "bench", commits, [1.0, 1.1])
    there = _series(conn, "bench", commits, [1.0, 1.1], hardware_id=other["id"])
    elsewhere = _commits(conn, 2, repository="https://github.com/org/other", prefix="o")
    _series(conn, "bench", elsewhere, [1.0, 1.1])

    def fingerprints(query: str) -> list[str]:
        return [item["history_fingerprint"] for item in _get(client, query)["series"]]

    assert fingerprints("hardware=runner-2") == [there[0]["history_fingerprint"]]
    assert fingerprints(f"hardware={other['hash']}") == [there[0]["history_fingerprint"]]
    assert fingerprints("hardware=nobody") == []
    assert len(fingerprints("repository=https://github.com/org/repo/")) == 2
    assert len(fingerprints("repository=git@github.com:org/other")) == 1
    assert len(fingerprints("")) == 3
    fingerprint = here[0]["history_fingerprint"]
    assert fingerprints(f"fingerprint={fingerprint}") == [fingerprint]


def test_active_window_keeps_series_with_a_result_inside_it(client, conn):
    commits = _commits(conn, 10)
    _series(conn, "recent", commits[8:], [1.0, 1.1])
    _series(conn, "early", commits[:2], [1.0, 1.1])
    names = [item["name"] for item in _get(client, "active_until=2024-05-05T00:00:00Z")["series"]]
    assert names == ["early"]
    names = [item["name"] for item in _get(client, "active_since=2024-05-08T00:00:00Z")["series"]]
    assert names == ["recent"]


def test_default_browse_is_bounded_to_recent_commits_and_says_truncated(client, conn):
    commits = _commits(conn, 82)
    _series(conn, "busy", commits[1:], [1.0 + i / 1000 for i in range(81)])
    lonely = _series(conn, "lonely", commits[:1], [1.0])
    body = _get(client)
    assert [item["name"] for item in body["series"]] == ["busy"]
    assert body["truncated"] is True and body["next_cursor"] is None
    found = _get(client, f"fingerprint={lonely[0]['history_fingerprint']}")
    assert [item["name"] for item in found["series"]] == ["lonely"]
    assert found["truncated"] is False
    assert [item["name"] for item in _get(client, "q=lonely")["series"]] == ["lonely"]


def test_members_are_capped_per_series_but_counted_in_full(conn):
    commits = _commits(conn, 6)
    rows = _series(conn, "bench", commits, [1.0, 1.1, 1.2, 1.3, 1.4, 1.5])
    fingerprint = rows[0]["history_fingerprint"]
    members = queries.list_members(conn, [fingerprint], per_series=4)[fingerprint]
    assert [row["id"] for row in members] == [row["id"] for row in rows[2:]]
    assert {row["point_count"] for row in members} == {6}


def test_member_cap_cuts_between_results_sharing_a_commit_timestamp(conn):
    """The cap keeps the newest members by commit timestamp, then result timestamp, then id:
    re-runs on one commit and commits sharing a timestamp are cut between their results; errored
    results, results off the default branch or without a commit are no members."""
    commits = _commits(conn, 3)
    twin = make_commit(conn, "c-twin", timestamp=commits[1]["timestamp"])
    case_id = make_case(conn, "bench", {})

    def result(commit, hours, **extra):
        when = commit["timestamp"] + timedelta(hours=hours) if commit else BASE
        return make_result(conn, commit=commit, case_id=case_id, timestamp=when, **extra)

    oldest = result(commits[0], 1)
    rerun_early, rerun_late = result(commits[1], 1), result(commits[1], 3)
    on_twin = result(twin, 2)
    newest = result(commits[2], 1)
    result(commits[2], 2, data=[], error={"stack_trace": "boom"})
    result(make_commit(conn, "c-branch", fork_point_sha="c-000", branch="me:x"), 5)
    result(None, 0)
    fingerprint = oldest["history_fingerprint"]
    expected = [oldest, rerun_early, on_twin, rerun_late, newest]
    for cap in range(1, 7):
        members = queries.list_members(conn, [fingerprint], per_series=cap)[fingerprint]
        assert [row["id"] for row in members] == [row["id"] for row in expected[-cap:]]
        assert {row["point_count"] for row in members} == {5}


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("page_size=0", "page_size must be an integer from 1 to 100"),
        ("page_size=101", "page_size must be an integer from 1 to 100"),
        ("threshold_z=0", "invalid threshold_z: must be a finite number greater than zero"),
        ("threshold_z=nan", "invalid threshold_z: must be a finite number greater than zero"),
        ("threshold_z=abc", "invalid threshold_z: must be a finite number greater than zero"),
        ("cursor=not-a-cursor", "invalid cursor"),
        ("active_since=yesterday", "invalid active_since: must be RFC 3339"),
        ("active_until=2024-01-01", "invalid active_until: must be RFC 3339"),
    ],
)
def test_bad_parameters_are_422_problems(client, query, detail):
    resp = client.simulate_get("/api/series", query_string=query)
    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json["detail"] == detail


def test_empty_database_has_no_series(client):
    assert _get(client) == {"series": [], "next_cursor": None, "truncated": False}


def test_series_timeout_is_a_422_problem(client, work_db_url, conn):
    import psycopg

    with psycopg.connect(work_db_url) as other:
        other.execute("LOCK TABLE commit IN ACCESS EXCLUSIVE MODE")
        conn.execute("SET statement_timeout = 100")
        resp = client.simulate_get("/api/series")
        other.rollback()
    assert resp.status_code == 422
    assert resp.json["detail"].startswith("read query timed out")


def _plan(conn, name: str, **params) -> str:
    query = "EXPLAIN " + load_queries("series")[name]
    rows = conn.execute(query, params, prepare=False)
    return "\n".join(row["QUERY PLAN"] for row in rows)


def test_series_queries_use_the_indexes_their_doc_lines_name(conn):
    commits = _commits(conn, 200)
    spread_results(conn, make_result(conn, commit=commits[0]), commits)
    filters = {"hardware_ids": None, "case_pattern": None, "since": None, "until": None}
    repositories = [commits[0]["repository"]]
    window = _plan(conn, "list_window_commits", repositories=repositories, until=None, limit=81)
    assert "Index Scan Backward using commit_default_branch_repo_ts_index" in window
    assert "benchmark_result_commit_id_index" in window
    walk = _plan(conn, "list_commit_fingerprints", commit_ids=[commits[-1]["id"]], **filters)
    assert "benchmark_result_commit_id_index" in walk
    members = _plan(conn, "list_series_members", fingerprints=["fp-0001"], per_series=256)
    assert "Index Only Scan using benchmark_result_series_member_index" in members
    assert "Index Scan using benchmark_result_series_member_index" in members
    exact = {
        **filters, "fingerprint": "fp-0001", "case_ids": None, "repository": None,
        "cursor_ts": None, "cursor_commit": None, "cursor_fingerprint": None, "limit": 25,
    }  # fmt: skip
    assert "benchmark_result_history_fingerprint_index" in _plan(conn, "list_exact_series", **exact)
    by_case = {**exact, "fingerprint": None, "case_ids": [make_case(conn, "rare", {})]}
    assert "benchmark_result_case_id_index" in _plan(conn, "list_exact_series", **by_case)
