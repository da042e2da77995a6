"""`GET /api/runs/recent` (02 §5): a bounded walk over the newest results, exact aggregates."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from conbench import sql
from conbench.queries import recent
from conbench.seed import seed_demo_data
from tests.factories import clone_results, make_commit, make_result

# Either index that leads with run_id serves these lookups (migration 5 added (run_id, id)).
RUN_ID_INDEX = re.compile(r"benchmark_result_run_id(_id)?_index")

DEMO = "https://github.com/conbench/demo"
T0 = datetime(2024, 3, 1, 12, 0)


def _recent(client, query=""):
    resp = client.simulate_get("/api/runs/recent", query_string=query)
    assert resp.status_code == 200, resp.text
    return resp.json


def _run_ids(body):
    return [run["run_id"] for run in body["runs"]]


def test_seed_runs_are_listed_newest_first(client, conn):
    seed_demo_data(conn)
    body = _recent(client)
    assert _run_ids(body) == [
        "run-commit-06-broken",
        "run-commit-05",
        "run-commit-04",
        "run-feature-branch-1",
        "run-commit-03",
        "run-commit-02",
        "run-commit-01",
    ]
    assert body["next_cursor"] is None


def test_seed_recent_run_commit_05_has_its_counts_commit_and_links(client, conn):
    seed_demo_data(conn)
    run = next(r for r in _recent(client)["runs"] if r["run_id"] == "run-commit-05")
    sample = conn.execute("SELECT id FROM benchmark_result WHERE run_id = 'run-commit-05'")
    assert run == {
        "run_id": "run-commit-05",
        "run_reason": None,
        "run_tags": {"name": "nightly"},
        "repository": DEMO,
        "commit": {
            "sha": "commit-05",
            "message": "Cache-friendly layout",
            "timestamp": "2024-01-06T12:00:00Z",
            "branch": "conbench:main",
            "on_default_branch": True,
        },
        "hardware": run["hardware"],
        "result_count": 1,
        "errored_count": 0,
        "first_result_timestamp": "2024-01-06T12:00:00Z",
        "last_result_timestamp": "2024-01-06T12:00:00Z",
        "batch_ids": ["batch-commit-05"],
        "sample_result_id": sample.fetchone()["id"],
        "links": {"run": "/runs/run-commit-05", "ci_report": "/ci/report?run_ids=run-commit-05"},
    }
    assert run["hardware"]["name"] == "demo-runner"
    assert run["hardware"]["hash"] == "demo-runner-0-10-10-34359738368"
    assert set(run["hardware"]) == {"id", "type", "name", "hash"}


def test_an_errored_result_counts_in_errored_count(client, conn):
    seed_demo_data(conn)
    run = _recent(client)["runs"][0]
    assert (run["run_id"], run["result_count"], run["errored_count"]) == (
        "run-commit-06-broken",
        1,
        1,
    )


def test_aggregates_cover_the_whole_run_and_keep_the_five_newest_batches(client, conn):
    for i in range(7):
        make_result(
            conn, run_id="big", batch_id=f"b{i}", timestamp=T0 + timedelta(minutes=i), error=None
        )
    make_result(conn, run_id="big", batch_id="b0", timestamp=T0, error={"x": 1}, data=None)
    newest = make_result(conn, run_id="big", batch_id="b6", timestamp=T0 + timedelta(hours=1))
    run = _recent(client)["runs"][0]
    assert run["result_count"] == 9
    assert run["errored_count"] == 1
    assert run["batch_ids"] == ["b6", "b5", "b4", "b3", "b2"]
    assert run["sample_result_id"] == newest["id"]
    assert run["first_result_timestamp"] == "2024-03-01T12:00:00Z"
    assert run["last_result_timestamp"] == "2024-03-01T13:00:00Z"
    assert run["commit"] is None


def test_runs_are_ordered_by_their_newest_result_even_when_interleaved(client, conn):
    make_result(conn, run_id="a", timestamp=T0)
    make_result(conn, run_id="b", timestamp=T0 + timedelta(minutes=1))
    make_result(conn, run_id="a", timestamp=T0 + timedelta(minutes=2))
    make_result(conn, run_id="c", timestamp=T0 + timedelta(minutes=3))
    make_result(conn, run_id="b", timestamp=T0 + timedelta(minutes=4))
    assert _run_ids(_recent(client)) == ["b", "c", "a"]


def test_pages_follow_each_other_without_repeating_or_skipping_a_run(client, conn):
    # Interleaved runs whose newest results tie on the timestamp: the id breaks the tie.
    for i in range(12):
        for j in range(3):
            make_result(conn, run_id=f"r{i:02}", timestamp=T0 + timedelta(minutes=i - 2 * j))
    make_result(conn, run_id="r05", timestamp=T0 + timedelta(minutes=7))
    every = _run_ids(_recent(client, "page_size=100"))
    assert len(every) == 12
    seen, cursor = [], None
    while True:
        query = "page_size=5" + (f"&cursor={cursor}" if cursor else "")
        body = _recent(client, query)
        seen += _run_ids(body)
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == every


def test_a_full_last_page_has_a_cursor_to_an_empty_page(client, conn):
    make_result(conn, run_id="only", timestamp=T0)
    body = _recent(client, "page_size=1")
    assert _run_ids(body) == ["only"] and body["next_cursor"]
    after = _recent(client, f"page_size=1&cursor={body['next_cursor']}")
    assert after == {"runs": [], "next_cursor": None}


def test_repository_filter_keeps_only_that_repository(client, conn):
    other = make_commit(conn, repository="https://github.com/org/other")
    make_result(conn, run_id="here", timestamp=T0)
    make_result(conn, run_id="there", commit=other, timestamp=T0 + timedelta(minutes=1))
    body = _recent(client, "repository=https://github.com/org/other/")
    assert _run_ids(body) == ["there"]
    assert body["runs"][0]["repository"] == "https://github.com/org/other"


def test_the_walk_stops_after_the_scan_limit(conn):
    for i in range(5):
        make_result(conn, run_id="busy", timestamp=T0 + timedelta(minutes=10 + i))
    make_result(conn, run_id="quiet", timestamp=T0)
    assert [k.run_id for k in recent.list_recent_run_keys(conn, page_size=5)] == [
        "busy",
        "quiet",
    ]
    limited = recent.list_recent_run_keys(conn, page_size=5, scan_limit=5)
    assert [k.run_id for k in limited] == ["busy"]


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("page_size=0", "page_size must be an integer from 1 to 100"),
        ("page_size=101", "page_size must be an integer from 1 to 100"),
        ("page_size=x", "page_size must be an integer from 1 to 100"),
        ("cursor=***", "invalid cursor"),
        ("cursor=bm90LWEtY3Vyc29y", "invalid cursor"),
        ("cursor=eyJ0IjogIjIwMjQtMDEtMDEiLCAiciI6ICJ4In0", "invalid cursor"),
    ],
)
def test_bad_parameters_are_422_problems(client, query, detail):
    resp = client.simulate_get("/api/runs/recent", query_string=query)
    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json["detail"] == detail


def test_the_slashed_path_is_still_the_legacy_run_named_recent(client, conn):
    make_result(conn, run_id="recent")
    assert client.simulate_get("/api/runs/recent/").json["id"] == "recent"


def _plan(conn, name, **params):
    rows = conn.execute("EXPLAIN " + sql.load("recent")[name], params, prepare=False)
    return "\n".join(row["QUERY PLAN"] for row in rows)


def test_recent_queries_use_the_indexes_their_doc_lines_name(conn):
    clone_results(conn, make_result(conn), 20_000, runs=2000)
    walk = _plan(
        conn,
        "list_recent_run_keys",
        after_ts="infinity",
        seen=[],
        cursor_ts=datetime(2024, 1, 1),
        repository=None,
        page_size=25,
        scan_limit=50_000,
    )
    assert "Index Scan Backward using benchmark_result_timestamp_index" in walk
    assert RUN_ID_INDEX.search(walk)
    # The only sort orders the (at most page_size) runs found, never the scanned results.
    assert walk.count("Sort Key") == 1 and "Sort Key: walk.step" in walk
    summaries = _plan(conn, "list_run_summaries", run_ids=["clone-run-7"], sample_ids=["x"])
    assert RUN_ID_INDEX.search(summaries)
    assert "benchmark_result_pkey" in summaries


def test_a_timed_out_walk_is_a_422_asking_to_narrow_the_request(client, monkeypatch):
    from conbench.db import QueryTimeout

    def cancelled(*args, **kwargs):
        raise QueryTimeout("cancelled")

    monkeypatch.setattr(recent, "list_recent_run_keys", cancelled)
    resp = client.simulate_get("/api/runs/recent")
    assert resp.status_code == 422
    assert resp.json["detail"].startswith("read query timed out; narrow the request")


def _walk_model(rows, *, page_size, scan_limit, repository=None, after=None):
    """The walk of `list_recent_run_keys` step by step over `rows` (index order): each step re-reads
    from the timestamp where the previous one stopped and counts every row it reads."""
    ts = after.timestamp if after else datetime.max
    seen = list(after.listed) if after else []
    scanned = found = 0
    keys = []
    while found < page_size:
        scan = [r for r in rows if r["timestamp"] <= ts][: scan_limit - scanned]
        hits = [
            (i, r)
            for i, r in enumerate(scan)
            if r["run_id"] not in seen
            and (repository is None or r["commit_repo_url"] == repository)
        ]
        if not hits:
            break
        i, r = hits[0]
        fresh = after is None or not any(
            x["run_id"] == r["run_id"] and x["timestamp"] > after.timestamp for x in rows
        )
        seen.append(r["run_id"])
        scanned += i + 1
        ts = r["timestamp"]
        found += fresh
        if fresh:
            keys.append(recent.RunKey(r["run_id"], r["id"], r["timestamp"]))
    return keys


def test_the_walk_counts_rows_re_read_at_shared_timestamps_like_a_step_by_step_walk(conn):
    # Interleaved runs on few distinct timestamps (ties everywhere), in two repositories, inserted
    # in an order unlike the run or id order; every scan limit, page size and page is compared
    # with the step-by-step model over the rows in index order.
    other = make_commit(conn, repository="https://github.com/org/other")
    for n in range(40):
        run = f"r{(n * 7) % 9}"
        kwargs = {"commit": other} if run in ("r2", "r5") else {}
        make_result(conn, run_id=run, timestamp=T0 + timedelta(minutes=(n * 5) % 6), **kwargs)
    # A big table's plans (the walk reads benchmark_result_timestamp_index backwards), and the rows
    # in that index's order for the model.
    conn.execute("SET LOCAL enable_seqscan = off")
    conn.execute("SET LOCAL enable_bitmapscan = off")
    rows = conn.execute(
        "SELECT id, run_id, timestamp, commit_repo_url FROM benchmark_result"
        " WHERE timestamp <= 'infinity' ORDER BY timestamp DESC"
    ).fetchall()
    assert len(rows) == 40
    for repository in (None, "https://github.com/org/other"):
        for page_size in (1, 2, 4, 25):
            for scan_limit in range(1, 45):
                after = None
                for _page in range(12):
                    args = {"page_size": page_size, "scan_limit": scan_limit}
                    expected = _walk_model(rows, repository=repository, after=after, **args)
                    got = recent.list_recent_run_keys(
                        conn, repository=repository, after=after, **args
                    )
                    assert got == expected, (repository, page_size, scan_limit, after)
                    if len(got) < page_size:
                        break
                    after = recent.position_after(got, after)
