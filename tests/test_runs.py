"""Legacy runs: the list by commit and the detail with candidate baseline runs (01 §4.2, §7.6)."""

from datetime import datetime

import pytest

from conbench import sql
from conbench.queries import baselines
from tests.factories import clone_results, make_commit, make_hardware, make_result

RUN_KEYS = {"id", "tags", "reason", "timestamp", "commit", "hardware"}


@pytest.mark.parametrize("query", ["", "?commit_hash=", "?commit_hash=,%20,"])
def test_listing_runs_needs_a_commit_hash(client, query):
    resp = client.simulate_get("/api/runs/" + query)
    assert resp.status_code == 400
    assert resp.json["description"] == {"_errors": ["commit_hash is required"]}


def test_runs_of_several_commits_are_listed_once_each_by_run_id(client, conn):
    a = make_commit(conn, sha="a" * 40)
    b = make_commit(conn, sha="b" * 40, repository="https://github.com/org/other")
    make_result(conn, run_id="run-2", commit=a)
    make_result(conn, run_id="run-2", commit=a)
    make_result(conn, run_id="run-1", commit=b)
    make_result(conn, run_id="run-3", commit=make_commit(conn, sha="c" * 40))
    resp = client.simulate_get("/api/runs/", params={"commit_hash": f"{'a' * 40},{'b' * 40}"})
    assert [run["id"] for run in resp.json["data"]] == ["run-1", "run-2"]
    assert resp.json["metadata"] == {"next_page_cursor": None}
    assert set(resp.json["data"][0]) == RUN_KEYS


def test_run_list_pages_by_run_id_with_a_cursor_when_full(client, conn):
    commit = make_commit(conn, sha="d" * 40)
    for run_id in ("r1", "r2", "r3"):
        make_result(conn, run_id=run_id, commit=commit)
    first = client.simulate_get(f"/api/runs/?commit_hash={'d' * 40}&page_size=2").json
    assert [run["id"] for run in first["data"]] == ["r1", "r2"]
    assert first["metadata"]["next_page_cursor"] == "r2"
    rest = client.simulate_get(f"/api/runs/?commit_hash={'d' * 40}&page_size=2&cursor=r2").json
    assert [run["id"] for run in rest["data"]] == ["r3"]
    assert rest["metadata"]["next_page_cursor"] is None


def test_run_entity_comes_from_the_lowest_id_result(client, conn):
    commit = make_commit(conn)
    first = make_result(
        conn, run_id="rep", commit=commit, run_tags={"name": "first"}, run_reason="commit",
        timestamp=datetime(2024, 2, 1, 10, 0, 0, 123456),
    )  # fmt: skip
    make_result(conn, run_id="rep", commit=commit, run_tags={"name": "second"})
    body = client.simulate_get("/api/runs/rep/").json
    assert body["id"] == "rep" and body["tags"] == {"name": "first"}
    assert body["reason"] == "commit" and body["timestamp"] == "2024-02-01T10:00:00Z"
    assert body["commit"]["id"] == commit["id"] and "links" not in body["commit"]
    assert body["hardware"]["id"] == first["hardware_id"] and "links" not in body["hardware"]
    assert set(body) == RUN_KEYS | {"candidate_baseline_runs"}


def test_unknown_run_is_404(client):
    resp = client.simulate_get("/api/runs/no-such-run/")
    assert resp.status_code == 404
    assert set(resp.json) == {"code", "name", "description"}


def test_a_run_named_recent_is_served_by_the_slashed_route(client, conn):
    make_result(conn, run_id="recent")
    assert client.simulate_get("/api/runs/recent/").json["id"] == "recent"


def _candidates(client, run_id):
    return client.simulate_get(f"/api/runs/{run_id}/").json["candidate_baseline_runs"]


def _errors(candidates):
    assert all(
        c["baseline_run_id"] is None and c["commits_skipped"] is None for c in candidates.values()
    )
    return {kind: c["error"] for kind, c in candidates.items()}


def test_commitless_run_is_not_connected_to_the_git_graph(client, conn):
    make_result(conn, run_id="loose")
    assert _errors(_candidates(client, "loose")) == {
        "parent": baselines.NOT_CONNECTED,
        "fork_point": baselines.NOT_CONNECTED,
        "latest_default": baselines.NO_SUCH_COMMIT,
    }


def test_default_branch_run_has_no_fork_point_baseline(client, conn):
    parent = make_commit(conn, sha="1" * 40, timestamp=datetime(2024, 1, 1))
    child = make_commit(conn, sha="2" * 40, parent=parent["sha"], timestamp=datetime(2024, 1, 2))
    make_result(conn, run_id="main-run", commit=child)
    assert _errors(_candidates(client, "main-run")) == {
        "parent": baselines.NO_MATCH,
        "fork_point": baselines.ON_DEFAULT_BRANCH,
        "latest_default": baselines.NO_MATCH,
    }


def test_branch_run_without_parent_or_fork_point_rows(client, conn):
    branch = make_commit(
        conn, sha="3" * 40, parent="4" * 40, branch="me:feature", fork_point_sha="5" * 40,
        repository="https://github.com/org/lonely",
    )  # fmt: skip
    make_result(conn, run_id="pr-run", commit=branch)
    assert _errors(_candidates(client, "pr-run")) == dict.fromkeys(
        ("parent", "fork_point", "latest_default"), baselines.NO_SUCH_COMMIT
    )


def test_latest_default_commit_prefers_timestamps_and_falls_back_to_undated(conn):
    repo = "https://github.com/org/dated"
    undated = make_commit(conn, repository=repo, timestamp=None)
    run = {"commit": None, "commit_repo_url": repo}
    assert baselines.baseline_commits(conn, run)["latest_default"]["id"] == undated["id"]
    make_commit(conn, repository=repo, timestamp=datetime(2024, 1, 1))
    newest = make_commit(conn, repository=repo, timestamp=datetime(2024, 3, 1))
    make_commit(
        conn,
        repository=repo,
        branch="me:x",
        fork_point_sha="f" * 40,
        timestamp=datetime(2025, 1, 1),
    )
    assert baselines.baseline_commits(conn, run)["latest_default"]["id"] == newest["id"]


def _plan(conn, module, name, params):
    rows = conn.execute("EXPLAIN " + sql.load(module)[name], params)
    return "\n".join(row["QUERY PLAN"] for row in rows)


def test_run_queries_use_the_indexes_their_doc_lines_name(conn):
    commit = make_commit(conn, sha="9" * 40)
    hardware = make_hardware(conn)
    clone_results(conn, make_result(conn, commit=commit, hardware_id=hardware["id"]), 20_000, 2000)
    get = _plan(conn, "runs", "get_run", {"run_id": "clone-run-7"})
    assert "benchmark_result_run_id_id_index" in get
    # Every clone shares one commit, so only with scans forbidden does the plan show the path
    # the query takes on a database of many commits.
    conn.execute("SET LOCAL enable_seqscan = off")
    params = {"shas": ["9" * 40], "cursor": None, "page_size": 100}
    listed = _plan(conn, "runs", "list_runs_for_commits", params)
    assert "commit_index" in listed and "benchmark_result_commit_id_index" in listed
    assert "benchmark_result_run_id_id_index" in listed
