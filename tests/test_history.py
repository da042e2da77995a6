"""History of a series: legacy samples and CSV (01 §7.8-7.9), modern HistorySeries (02 §7), with the
golden numbers of the demo seed (07 §9) and of Example 3 of 04 §11."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
from psycopg import sql

from conbench.resources.history import numstr
from conbench.seed import seed_demo_data
from conbench.sql import load as load_queries
from tests.factories import make_commit, make_result

DEMO_HISTORY = ["commit-01", "commit-02", "commit-03", "commit-04", "commit-05"]
EXAMPLE_3 = [10.0, 10.1, 9.9, 10.0, 10.2, 9.8, 15.0, 12.0, 12.1, 11.9, 12.0, 12.1]


def _demo(conn) -> dict[str, dict]:
    """Seed the demo data; the results by commit sha."""
    seed_demo_data(conn)
    rows = conn.execute(
        "SELECT r.*, c.sha FROM benchmark_result AS r JOIN commit AS c ON c.id = r.commit_id"
    ).fetchall()
    return {row["sha"]: row for row in rows}


def _example_3(conn) -> list[dict]:
    """The twelve daily commits of 04 §11 Example 3, one single-sample result (unit s) each,
    commit 8 annotated as the start of a new distribution."""
    case = {"case_id": None}
    results = []
    for day, svs in enumerate(EXAMPLE_3, start=1):
        when = datetime(2024, 3, 1, 9, 0) + timedelta(days=day - 1)
        commit = make_commit(conn, f"example-3-{day:02d}", timestamp=when)
        annotations = {"begins_distribution_change": True} if day == 8 else {}
        overrides = {k: v for k, v in case.items() if v is not None}
        row = make_result(
            conn, commit=commit, data=[svs], timestamp=when + timedelta(hours=1),
            change_annotations=annotations, **overrides,
        )  # fmt: skip
        case = {k: row[k] for k in ("case_id", "context_id", "info_id", "hardware_id")}
        results.append(row)
    return results


def _by_sha(items: list[dict], key: str) -> dict[str, dict]:
    return {item[key]: item for item in items}


def test_demo_history_is_the_five_default_branch_points(client, conn):
    results = _demo(conn)
    resp = client.simulate_get(f"/api/history/{results['commit-05']['id']}/")
    assert resp.status_code == 200
    assert resp.json["metadata"] == {"next_page_cursor": None}
    items = resp.json["data"]
    assert [item["commit_hash"] for item in items] == DEMO_HISTORY
    assert [item["single_value_summary"] for item in items] == [1.0, 1.05, 1.1, 1.4, 1.45]


def test_history_of_a_branch_result_is_its_series_default_branch_history(client, conn):
    results = _demo(conn)
    resp = client.simulate_get(f"/api/history/{results['feature-branch-1']['id']}/")
    assert [item["commit_hash"] for item in resp.json["data"]] == DEMO_HISTORY


def test_legacy_sample_has_the_upstream_keys_and_values(client, conn):
    results = _demo(conn)
    first = results["commit-01"]
    items = client.simulate_get(f"/api/history/{first['id']}/").json["data"]
    assert items[0] == {
        "benchmark_result_id": first["id"],
        "history_fingerprint": first["history_fingerprint"],
        "case_id": first["case_id"],
        "context_id": first["context_id"],
        "mean": 1.02,
        "single_value_summary": 1.0,
        "single_value_summary_type": "min",
        "data": [1.0, 1.02, 1.04],
        "times": [],
        "unit": "s",
        "hardware_hash": "demo-runner-0-10-10-34359738368",
        "repository": "https://github.com/conbench/demo",
        "commit_hash": "commit-01",
        "commit_msg": "Add baseline sort",
        "commit_timestamp": "2024-01-01T12:00:00",
        "result_timestamp": "2024-01-01T12:00:00",
        "run_name": "nightly",
        "run_tags": {"name": "nightly"},
        "zscorestats": {
            "begins_distribution_change": False,
            "segment_id": 0.0,
            "rolling_mean_excluding_this_commit": 1.0,
            "rolling_mean": 1.0,
            "residual": 0.0,
            "rolling_stddev": 0.0,
            "is_outlier": False,
        },
    }
    assert isinstance(items[0]["zscorestats"]["segment_id"], float)


def test_demo_history_scores_each_commit_against_the_commits_before_it(client, conn):
    results = _demo(conn)
    body = client.simulate_get(f"/api/history/{results['commit-05']['id']}").json
    points = _by_sha(body["points"], "commit_sha")
    # 04 §11 Example 2: commit-04 against commit-01..03, commit-05 against commit-01..04.
    assert points["commit-04"]["rolling_mean_excluding_this_commit"] == pytest.approx(1.05)
    assert points["commit-04"]["rolling_stddev"] == pytest.approx(0.03818813079129875)
    assert round(points["commit-04"]["z_score"], 3) == -9.165
    assert points["commit-05"]["rolling_mean_excluding_this_commit"] == pytest.approx(1.1375)
    assert points["commit-05"]["rolling_stddev"] == pytest.approx(0.15728821740147386)
    assert round(points["commit-05"]["z_score"], 3) == -1.987
    assert points["commit-02"]["rolling_stddev"] is None
    assert points["commit-02"]["z_score"] is None


def test_modern_history_body_has_the_series_and_its_points(client, conn):
    results = _demo(conn)
    latest = results["commit-05"]
    body = client.simulate_get(f"/api/history/{latest['id']}").json
    assert {k: v for k, v in body.items() if k not in ("points", "hardware")} == {
        "history_fingerprint": latest["history_fingerprint"],
        "name": "demo-benchmark",
        "tags": {"dataset": "uniform"},
        "context": {"compiler": "gcc-13", "optimization": "O2"},
        "repository": "https://github.com/conbench/demo",
        "unit": "s",
        "less_is_better": True,
        "single_value_summary_type": "min",
    }
    assert body["hardware"] == {
        "id": latest["hardware_id"],
        "type": "machine",
        "name": "demo-runner",
        "hash": "demo-runner-0-10-10-34359738368",
    }
    first = body["points"][0]
    assert first == {
        "result_id": results["commit-01"]["id"],
        "run_id": "run-commit-01",
        "batch_id": "batch-commit-01",
        "commit_sha": "commit-01",
        "commit_message": "Add baseline sort",
        "commit_timestamp": "2024-01-01T12:00:00Z",
        "result_timestamp": "2024-01-01T12:00:00Z",
        "single_value_summary": 1.0,
        "data": [1.0, 1.02, 1.04],
        "mean": 1.02,
        "begins_distribution_change": False,
        "segment_id": 0,
        "rolling_mean": 1.0,
        "rolling_mean_excluding_this_commit": 1.0,
        "residual": 0.0,
        "rolling_stddev": None,
        "z_score": None,
        "is_outlier": False,
        "is_step": False,
    }


def test_history_by_fingerprint_equals_history_by_result(client, conn):
    results = _demo(conn)
    latest = results["commit-05"]
    by_id = client.simulate_get(f"/api/history/{latest['id']}").json
    resp = client.simulate_get(
        "/api/history", query_string=f"fingerprint={latest['history_fingerprint']}"
    )
    assert resp.status_code == 200
    assert resp.json == by_id


def test_example_3_history_view_matches_the_worked_example(client, conn):
    rows = _example_3(conn)
    legacy = client.simulate_get(f"/api/history/{rows[-1]['id']}/").json["data"]
    modern = client.simulate_get(f"/api/history/{rows[-1]['id']}").json["points"]
    assert [item["single_value_summary"] for item in legacy] == EXAMPLE_3
    stats = [item["zscorestats"] for item in legacy]
    assert [s["is_outlier"] for s in stats] == [i == 6 for i in range(12)]
    assert [s["segment_id"] for s in stats] == [0.0] * 7 + [1.0] * 5
    # Commit 7 (the spike) is an outlier: no statistics, legacy stddev 0.0, modern null.
    assert stats[6]["rolling_mean"] is None
    assert stats[6]["rolling_mean_excluding_this_commit"] is None
    assert stats[6]["rolling_stddev"] == 0.0
    assert modern[6]["rolling_stddev"] is None and modern[6]["is_outlier"] is True
    # Commit 8 starts segment 1; its stddev spans the previous commits of both segments.
    assert stats[7]["rolling_mean_excluding_this_commit"] == pytest.approx(12.0)
    assert stats[7]["rolling_mean"] == pytest.approx(12.0)
    assert stats[7]["residual"] == pytest.approx(0.0)
    assert stats[7]["rolling_stddev"] == pytest.approx(0.160468, abs=1e-6)
    assert modern[7]["is_step"] is False and modern[7]["begins_distribution_change"] is True
    # Commit 2: one previous residual, so the stddev is undefined (legacy 0.0, modern null).
    assert stats[1]["rolling_stddev"] == 0.0
    assert modern[1]["rolling_stddev"] is None
    # Commit 12 against commits 8-11 of its segment, stddev over ten residuals.
    assert modern[11]["rolling_mean_excluding_this_commit"] == pytest.approx(12.0)
    assert modern[11]["rolling_stddev"] == pytest.approx(0.133600, abs=1e-6)
    assert modern[11]["z_score"] == pytest.approx(-(12.1 - 12.0) / 0.1336, rel=1e-4)


def test_failed_and_off_branch_results_are_not_history_members(client, conn):
    rows = _example_3(conn)
    same = {k: rows[0][k] for k in ("case_id", "context_id", "info_id", "hardware_id")}
    commit = conn.execute("SELECT * FROM commit WHERE id = %s", (rows[3]["commit_id"],)).fetchone()
    make_result(conn, commit=commit, error={"stack": "boom"}, data=[], **same)
    make_result(conn, commit=commit, data=[1.0, None, 2.0], **same)
    branch = make_commit(conn, "branch-commit", fork_point_sha=commit["sha"], branch="org:b")
    make_result(conn, commit=branch, data=[50.0], **same)
    unknown = make_commit(conn, "unknown-commit", unknown=True)
    make_result(conn, commit=unknown, data=[50.0], **same)
    items = client.simulate_get(f"/api/history/{rows[0]['id']}/").json["data"]
    assert [item["single_value_summary"] for item in items] == EXAMPLE_3


def test_csv_download_has_the_header_lines_and_eight_significant_figures(client, conn):
    results = _demo(conn)
    latest = results["commit-05"]
    fingerprint = latest["history_fingerprint"]
    resp = client.simulate_get(f"/api/history/download/{latest['id']}/")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    assert resp.headers["content-disposition"] == (
        f'attachment; filename="conbench-history-demo-benchmark-{fingerprint}.csv"'
    )
    lines = resp.text.split("\n")
    assert re.fullmatch(r"# generated at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", lines[2])
    ids = [results[sha]["id"] for sha in DEMO_HISTORY]
    assert lines[:2] + lines[3:] == [
        f"# original URL: http://falconframework.org/api/history/download/{latest['id']}",
        "# generated by conbench, commit unknown",
        f"# for result {latest['id']}",
        "# benchmark name: demo-benchmark",
        "# case permutation: dataset=uniform",
        "# hardware hash: demo-runner-0-10-10-34359738368",
        f"# history fingerprint: {fingerprint}",
        "# single value summary (SVS) type: min",
        "commit_time,result_id,commit_hash,svs,min",
        f"2024-01-01 12:00:00+00:00,{ids[0]},commit-01,1,1",
        f"2024-01-02 12:00:00+00:00,{ids[1]},commit-02,1.05,1.05",
        f"2024-01-03 12:00:00+00:00,{ids[2]},commit-03,1.1,1.1",
        f"2024-01-05 12:00:00+00:00,{ids[3]},commit-04,1.4,1.4",
        f"2024-01-06 12:00:00+00:00,{ids[4]},commit-05,1.45,1.45",
        "",
    ]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (1.05, "1.05"),
        (1 / 3, "0.33333333"),
        (15272063.0, "15272063"),
        (123456789.0, "123456790"),
        (0.00123888129341456, "0.0012388813"),
        (1e-20, "0.00000000000000000001"),
        (None, "NaN"),
        (float("nan"), "NaN"),
    ],
)
def test_csv_numbers_have_at_most_eight_significant_figures(value, text):
    assert numstr(value) == text


def test_csv_of_a_result_without_default_branch_history_is_404_with_a_description(client, conn):
    commitless = make_result(conn)
    resp = client.simulate_get(f"/api/history/download/{commitless['id']}/")
    assert resp.status_code == 404
    assert resp.json == {"description": "no default-branch history for this result"}


def test_legacy_history_of_a_result_without_history_is_an_empty_list(client, conn):
    resp = client.simulate_get(f"/api/history/{make_result(conn)['id']}/")
    assert resp.status_code == 200
    assert resp.json == {"data": [], "metadata": {"next_page_cursor": None}}


def test_unknown_result_is_404_on_every_history_route(client):
    for path in ("/api/history/nope/", "/api/history/download/nope/"):
        resp = client.simulate_get(path)
        assert resp.status_code == 404
        assert set(resp.json) == {"code", "name", "description"}
    resp = client.simulate_get("/api/history/nope")
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json["detail"] == "not found"


def test_history_by_fingerprint_needs_a_known_fingerprint(client, conn):
    resp = client.simulate_get("/api/history")
    assert resp.status_code == 422
    assert resp.json["detail"] == "fingerprint is required"
    resp = client.simulate_get("/api/history", query_string="fingerprint=unknown")
    assert resp.status_code == 404
    assert resp.json["detail"] == "not found"


def test_known_fingerprint_without_default_branch_points_has_empty_points(client, conn):
    row = make_result(conn)
    resp = client.simulate_get(
        "/api/history", query_string=f"fingerprint={row['history_fingerprint']}"
    )
    assert resp.status_code == 200
    assert resp.json["points"] == []
    assert resp.json["name"] == "file-read"


@pytest.fixture
def locked_case_table(work_db_url, conn):
    """Another session holds an exclusive lock on "case" while the test's statements time out
    after 100 ms: any query joining cases hits its statement timeout."""
    import psycopg

    with psycopg.connect(work_db_url) as other:
        other.execute('LOCK TABLE "case" IN ACCESS EXCLUSIVE MODE')
        conn.execute("SET statement_timeout = 100")
        yield
        other.rollback()


def test_modern_history_timeout_is_a_422_problem(client, locked_case_table):
    resp = client.simulate_get("/api/history/some-id")
    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json["detail"].startswith("read query timed out; narrow the request")


def spread_results(conn, row: dict, commits: list[dict], fingerprints: int = 100) -> None:
    """Copies of `row`: one per (commit, fingerprint) pair, `fingerprints` series on every commit,
    then ANALYZE (rolled back with the test): a table the planner treats as big."""
    varied = {
        "id": "r.id || lpad(g::text, 8, '0')",
        "history_fingerprint": "'fp-' || lpad((g %% %(n)s)::text, 4, '0')",
        "commit_id": "(%(commits)s::text[])[1 + g / %(n)s]",
    }
    columns = sql.SQL(", ").join(
        sql.SQL(varied[name]) if name in varied else sql.Identifier("r", name) for name in row
    )
    query = sql.SQL(
        "INSERT INTO benchmark_result ({}) SELECT {} FROM benchmark_result AS r,"
        " generate_series(0, %(count)s - 1) AS g WHERE r.id = %(id)s"
    ).format(sql.SQL(", ").join(map(sql.Identifier, row)), columns)
    params = {
        "id": row["id"],
        "n": fingerprints,
        "commits": [c["id"] for c in commits],
        "count": fingerprints * len(commits),
    }
    conn.execute(query, params)
    conn.execute("ANALYZE benchmark_result")
    conn.execute("ANALYZE commit")


@pytest.mark.parametrize("name", ["list_history_points", "list_legacy_history_points"])
def test_history_query_reads_one_series_through_the_fingerprint_index(conn, name):
    commits = [
        make_commit(conn, f"plan-{i:03d}", timestamp=datetime(2024, 1, 1) + timedelta(hours=i))
        for i in range(200)
    ]
    spread_results(conn, make_result(conn, commit=commits[0]), commits)
    query = "EXPLAIN " + load_queries("history")[name]
    plan = "\n".join(r["QUERY PLAN"] for r in conn.execute(query, {"fingerprint": "fp-0007"}))
    # Read once, up front: never once per default-branch commit.
    assert "CTE series" in plan
    assert "benchmark_result_history_fingerprint_index" in plan.split("CTE series")[1]


@pytest.mark.parametrize(
    "value",
    ["true", "false", "null", "0", "1", "0.0", "-0", "2.5", "1e-400", '""', '"no"', "[]", "[0]",
     "{}", '{"a": null}'],
)  # fmt: skip
def test_any_json_annotation_begins_a_distribution_as_python_truthiness(client, conn, value):
    rows = _example_3(conn)
    conn.execute(
        "UPDATE benchmark_result SET change_annotations ="
        " jsonb_build_object('begins_distribution_change', %s::jsonb) WHERE id = %s",
        (value, rows[3]["id"]),
    )
    begins = bool(json.loads(value))  # upstream reads the JSON value with Python's bool()
    expected = [0.0] * 3 + [1.0 if begins else 0.0] * 9
    expected[7:] = [s + 1.0 for s in expected[7:]]
    legacy = client.simulate_get(f"/api/history/{rows[0]['id']}/").json["data"]
    modern = client.simulate_get(f"/api/history/{rows[0]['id']}").json["points"]
    assert [item["zscorestats"]["segment_id"] for item in legacy] == expected
    assert [item["segment_id"] for item in modern] == expected
    assert modern[3]["begins_distribution_change"] is begins


def test_legacy_sample_keeps_null_times_and_run_tags_as_stored(client, conn):
    rows = _example_3(conn)
    tags = {"name": 7, "tag": [1, 2.5, None, 10**30], "z": {"a": "b"}}
    conn.execute(
        "UPDATE benchmark_result SET times = NULL, run_tags = %s WHERE id = %s",
        (json.dumps(tags), rows[0]["id"]),
    )
    items = client.simulate_get(f"/api/history/{rows[0]['id']}/").json["data"]
    assert items[0]["times"] == []
    assert items[0]["run_tags"] == tags
    assert items[0]["run_name"] == 7
