"""Seed demo data (07 §9): seven results on a small commit graph, only into an empty database."""

from datetime import datetime

import pytest

from conbench.db import connect
from conbench.seed import seed_demo_data
from tests import payloads, procs


@pytest.fixture(autouse=True)
def empty_results(request):
    if "conn" in request.fixturenames:
        conn = request.getfixturevalue("conn")
        assert conn.execute("SELECT count(*) AS n FROM benchmark_result").fetchone()["n"] == 0


def _results(conn):
    return conn.execute(
        """
        SELECT r.*, c.sha, cs.name AS case_name, cs.tags AS case_tags, ctx.tags AS context_tags,
               i.tags AS info_tags, h.hash
        FROM benchmark_result r
        JOIN commit c ON c.id = r.commit_id
        JOIN "case" cs ON cs.id = r.case_id
        JOIN context ctx ON ctx.id = r.context_id
        JOIN info i ON i.id = r.info_id
        JOIN hardware h ON h.id = r.hardware_id
        ORDER BY r.timestamp
        """
    ).fetchall()


def test_seed_stores_the_seven_demo_results(conn):
    assert seed_demo_data(conn) == 7
    rows = _results(conn)
    assert [r["sha"] for r in rows] == [
        "commit-01",
        "commit-02",
        "commit-03",
        "feature-branch-1",
        "commit-04",
        "commit-05",
        "commit-06-broken",
    ]
    for day, row in enumerate(rows, start=1):
        assert row["timestamp"] == datetime(2024, 1, day, 12)
        assert row["run_id"] == f"run-{row['sha']}"
        assert row["batch_id"] == f"batch-{row['sha']}"
        assert row["run_tags"] == {"name": "nightly"}
        assert row["run_reason"] is None
        assert row["commit_repo_url"] == "https://github.com/conbench/demo"
        assert row["case_name"] == "demo-benchmark"
        assert row["case_tags"] == {"dataset": "uniform"}
        assert row["context_tags"] == {"compiler": "gcc-13", "optimization": "O2"}
        assert row["info_tags"] == {"benchmark_language": "C++"}
        assert row["hash"] == "demo-runner-0-10-10-34359738368"
        assert row["unit"] == "s"
    assert len({r["history_fingerprint"] for r in rows}) == 1


def test_seed_data_values_are_the_two_decimal_literals(conn):
    seed_demo_data(conn)
    rows = {r["sha"]: r for r in _results(conn)}
    assert [str(v) for v in rows["commit-02"]["data"]] == ["1.05", "1.07", "1.09"]
    assert [str(v) for v in rows["feature-branch-1"]["data"]] == ["1.8", "1.82", "1.84"]
    assert float(rows["commit-05"]["mean"]) == pytest.approx(1.47)
    assert rows["commit-05"]["error"] is None


def test_the_broken_nightly_is_a_partial_errored_result(conn):
    seed_demo_data(conn)
    broken = {r["sha"]: r for r in _results(conn)}["commit-06-broken"]
    assert broken["error"] == {"status": "Partial result: not all iterations completed"}
    assert [None if v is None else str(v) for v in broken["data"]] == ["1.0", None, "1.04"]


def test_seed_commits_carry_parents_branches_and_fork_points(conn):
    seed_demo_data(conn)
    commits = {
        c["sha"]: c
        for c in conn.execute(
            "SELECT * FROM commit WHERE repository = 'https://github.com/conbench/demo'"
        ).fetchall()
    }
    assert set(commits) == {
        "commit-01",
        "commit-02",
        "commit-03",
        "feature-branch-1",
        "commit-04",
        "commit-05",
        "commit-06-broken",
    }
    assert commits["commit-01"]["parent"] is None
    assert commits["commit-02"]["parent"] == "commit-01"
    assert commits["commit-04"]["parent"] == "commit-03"
    assert commits["commit-06-broken"]["parent"] == "commit-05"
    feature = commits["feature-branch-1"]
    assert (feature["parent"], feature["branch"], feature["fork_point_sha"]) == (
        "commit-03",
        "conbench:feature-branch-1",
        "commit-03",
    )
    assert feature["message"] == "WIP: experimental layout"
    for sha in ("commit-01", "commit-02", "commit-03", "commit-04", "commit-05"):
        assert commits[sha]["branch"] == "conbench:main"
        assert commits[sha]["fork_point_sha"] == sha  # default-branch membership
    assert commits["commit-04"]["message"] == "Parallelize merge (regressed)"
    assert commits["commit-05"]["timestamp"] == datetime(2024, 1, 6, 12)


def test_seed_is_skipped_when_results_exist(conn):
    assert seed_demo_data(conn) == 7
    assert seed_demo_data(conn) == 0
    assert conn.execute("SELECT count(*) AS n FROM benchmark_result").fetchone()["n"] == 7


def test_seed_is_skipped_when_any_other_result_exists(conn):
    from conbench.ingest import UnknownCommitResolver, store_results
    from conbench.validation import prepare_result

    store_results(
        conn,
        [prepare_result(payloads.legacy_result(), modern=False)],
        commits=UnknownCommitResolver(),
        surface=None,
    )
    assert seed_demo_data(conn) == 0
    assert conn.execute("SELECT count(*) AS n FROM commit").fetchone()["n"] == 1


@pytest.mark.slow
def test_serve_with_conbench_seed_stores_the_demo_data_once(fresh_db_url, tmp_path):
    env = procs.base_env(CONBENCH_DB_URL=fresh_db_url, CONBENCH_SEED="true")
    for attempt in range(2):
        server = procs.start(["serve", "--workers", "1"], env, tmp_path / f"serve{attempt}.log")
        server.stop()
        assert (
            "seeded 7 demo results" in server.log() if attempt == 0 else "seeded 0" in server.log()
        )
    with connect(fresh_db_url) as conn:
        assert conn.execute("SELECT count(*) AS n FROM benchmark_result").fetchone()["n"] == 7
