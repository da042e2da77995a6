"""`GET /api/ci/report` (02 §9): run selection, baselines, rows, summary, status, report_url."""

from __future__ import annotations

import itertools
import math
from datetime import datetime, timedelta

import pytest
from falcon import testing

from conbench import ci_report, ci_rows, stats
from conbench.app import create_app
from conbench.config import Settings
from conbench.queries import ci_report as ci_queries
from conbench.queries import lookback
from conbench.seed import seed_demo_data
from tests.factories import make_case, make_commit, make_hardware, make_result

DEMO = "repository=https://github.com/conbench/demo"
REPO = "https://github.com/org/repo"
DAY = datetime(2024, 2, 1, 12, 0)


def _report(client, query, status=200):
    resp = client.simulate_get("/api/ci/report", query_string=query)
    assert resp.status_code == status, resp.text
    return resp.json


def _rows(body):
    return [row for run in body["runs"] for row in run["comparisons"]]


def _problem(client, query):
    resp = client.simulate_get("/api/ci/report", query_string=query)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    return resp.json["detail"]


# -- 07 §9 on the demo seed ----------------------------------------------------------------------


def test_seed_feature_branch_is_a_failure_with_one_regressed_row(client, conn):
    seed_demo_data(conn)
    body = _report(client, f"{DEMO}&commit_sha=feature-branch-1")
    assert (body["status"], body["status_reason"]) == ("failure", "lookback regression detected")
    (row,) = _rows(body)
    assert row["status"] == "regressed"
    assert row["analysis"]["lookback_z_score"]["z_score"] == -19.64
    assert row["analysis"]["pairwise"]["percent_change"] == -63.64


def test_seed_feature_branch_baseline_is_the_fork_point_run(client, conn):
    seed_demo_data(conn)
    (run,) = _report(client, f"{DEMO}&commit_sha=feature-branch-1")["runs"]
    assert run["run_id"] == "run-feature-branch-1"
    assert run["baseline_run_id"] == "run-commit-03"
    assert run["baseline_commit"]["sha"] == "commit-03"
    assert run["baseline_error"] is None and run["commits_skipped"] == []


def test_seed_commit_05_against_its_fork_point_needs_action(client, conn):
    seed_demo_data(conn)
    body = _report(client, f"{DEMO}&commit_sha=commit-05")
    assert body["status"] == "action_required"
    assert body["status_reason"] == "baseline commit metadata is incomplete"
    (run,) = body["runs"]
    assert run["baseline_error"] == {
        "code": "default_branch_run",
        "message": "contender is already on the default branch",
        "run_id": "run-commit-05",
        "baseline": "fork_point",
        "commit_sha": "commit-05",
    }
    assert [row["status"] for row in _rows(body)] == ["missing_baseline"]


def test_seed_commit_05_against_its_parent_is_a_success(client, conn):
    seed_demo_data(conn)
    body = _report(client, f"{DEMO}&commit_sha=commit-05&baseline=parent")
    assert (body["status"], body["status_reason"]) == ("success", "no regressions")
    assert body["runs"][0]["baseline_run_id"] == "run-commit-04"
    (row,) = _rows(body)
    assert row["status"] == "stable"
    assert row["analysis"]["lookback_z_score"]["z_score"] == -1.987
    assert row["analysis"]["pairwise"]["percent_change"] == -3.571


def test_seed_broken_nightly_needs_action_for_its_benchmark_error(client, conn):
    seed_demo_data(conn)
    body = _report(client, f"{DEMO}&commit_sha=commit-06-broken")
    assert body["status"] == "action_required"
    assert body["status_reason"] == "benchmark errors require inspection"
    (row,) = _rows(body)
    assert row["status"] == "errored"
    assert row["error"] == row["contender"]["error"] is not None
    assert body["summary"]["benchmark_errors"] == 1


def test_seed_regression_run_selected_by_run_id_gives_the_same_verdict(client, conn):
    seed_demo_data(conn)
    body = _report(client, "run_ids=run-feature-branch-1")
    assert body["status"] == "failure"
    assert (body["repository"], body["commit_sha"]) == (
        "https://github.com/conbench/demo",
        "feature-branch-1",
    )
    assert body["selected_run_ids"] == ["run-feature-branch-1"]


def test_commit_is_an_alias_of_commit_sha(client, conn):
    seed_demo_data(conn)
    assert _report(client, f"{DEMO}&commit=feature-branch-1")["status"] == "failure"


def test_seed_regressed_row_has_the_full_row_shape(client, conn):
    seed_demo_data(conn)
    (row,) = _rows(_report(client, f"{DEMO}&commit_sha=feature-branch-1"))
    ids = {
        r["run_id"]: r["id"]
        for r in conn.execute("SELECT id, run_id FROM benchmark_result").fetchall()
    }
    contender, baseline = ids["run-feature-branch-1"], ids["run-commit-03"]
    fingerprint = row["history_fingerprint"]
    assert row == {
        "status": "regressed",
        "name": "demo-benchmark",
        "tags": {"name": "demo-benchmark", "dataset": "uniform"},
        "context": {"compiler": "gcc-13", "optimization": "O2"},
        "info": {"benchmark_language": "C++"},
        "hardware": row["hardware"],
        "history_fingerprint": fingerprint,
        "unit": "s",
        "less_is_better": True,
        "contender": {
            "result_id": contender,
            "run_id": "run-feature-branch-1",
            "result_timestamp": "2024-01-04T12:00:00Z",
            "commit_sha": "feature-branch-1",
            "commit_timestamp": "2024-01-04T12:00:00Z",
            "error": None,
            "single_value_summary": 1.8,
            "single_value_summary_type": "min",
        },
        "baseline": {
            "result_id": baseline,
            "run_id": "run-commit-03",
            "result_timestamp": "2024-01-03T12:00:00Z",
            "commit_sha": "commit-03",
            "commit_timestamp": "2024-01-03T12:00:00Z",
            "single_value_summary": 1.1,
            "single_value_summary_type": "min",
        },
        "analysis": {
            "pairwise": {
                "percent_change": -63.64,
                "percent_threshold": 5.0,
                "regression_indicated": True,
                "improvement_indicated": False,
            },
            "lookback_z_score": {
                "z_threshold": 5.0,
                "z_score": -19.64,
                "regression_indicated": True,
                "improvement_indicated": False,
            },
        },
        "error": None,
        "links": {
            "result": f"/results/{contender}",
            "compare": f"/compare?baseline={baseline}&contender={contender}",
            "series": f"/series/{fingerprint}",
        },
    }
    assert row["hardware"] == {
        "id": row["hardware"]["id"],
        "type": "machine",
        "name": "demo-runner",
        "hash": "demo-runner-0-10-10-34359738368",
    }


# -- parameters (02 §9.1) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        (f"repository={REPO}", "repository and commit_sha must be provided together"),
        ("commit_sha=abc", "repository and commit_sha must be provided together"),
        ("commit=abc&run_ids=r", "repository and commit_sha must be provided together"),
        ("", "provide repository and commit_sha or run_ids"),
        ("run_ids=,%20,", "provide repository and commit_sha or run_ids"),
        ("baseline_run_ids=b", "provide repository and commit_sha or run_ids"),
        (f"repository={REPO}&commit_sha=a&baseline_run_ids=b", "baseline_run_ids requires run_ids"),
        (
            "run_ids=a&baseline_run_ids=b&baseline=parent",
            "baseline cannot be set with baseline_run_ids",
        ),
        ("run_ids=a,b&baseline_run_ids=b", "baseline_run_ids must match run_ids count"),
        ("run_ids=a&baseline=grandparent", "invalid baseline"),
        ("run_ids=a&threshold=0", "invalid threshold: must be a finite number greater than zero"),
        ("run_ids=a&threshold=-1", "invalid threshold: must be a finite number greater than zero"),
        ("run_ids=a&threshold=abc", "invalid threshold: must be a finite number greater than zero"),
        ("run_ids=a&threshold=inf", "invalid threshold: must be a finite number greater than zero"),
        (
            "run_ids=a&threshold_z=nan",
            "invalid threshold_z: must be a finite number greater than zero",
        ),
    ],
)
def test_invalid_parameters_are_422_with_the_exact_message(client, query, detail):
    assert _problem(client, query) == detail


def test_unknown_run_ids_alone_are_404(client):
    resp = client.simulate_get("/api/ci/report", query_string="run_ids=nope,nada")
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"


def test_run_ids_on_different_commits_are_422(client, conn):
    make_result(conn, run_id="one", commit=make_commit(conn))
    make_result(conn, run_id="two", commit=make_commit(conn))
    detail = _problem(client, "run_ids=one,two")
    assert detail == "run_ids must share the same repository and commit"


def test_a_run_whose_results_name_two_commits_is_422(client, conn):
    make_result(conn, run_id="split", commit=make_commit(conn))
    make_result(conn, run_id="split", commit=make_commit(conn))
    assert _problem(client, "run_ids=split") == "run_ids must share the same repository and commit"


# -- run selection -------------------------------------------------------------------------------


def test_a_commit_without_runs_needs_action(client):
    body = _report(client, f"repository={REPO}&commit_sha=0000000")
    assert (body["status"], body["status_reason"]) == (
        "action_required",
        "no runs found for selected commit",
    )
    assert body["runs"] == [] and body["summary"]["runs"] == 0


def test_commit_mode_with_run_ids_lists_the_ids_not_on_the_commit(client, conn):
    commit = make_commit(conn)
    make_result(conn, run_id="here", commit=commit)
    make_result(conn, run_id="elsewhere", commit=make_commit(conn))
    body = _report(client, f"repository={REPO}&commit_sha={commit['sha']}&run_ids=here,elsewhere")
    assert body["selected_run_ids"] == ["here"]
    assert body["missing_run_ids"] == ["elsewhere"]
    assert body["summary"]["missing_runs"] == 1
    assert body["status_reason"] == "explicit run IDs were not found"


def test_run_ids_partly_unknown_need_action(client, conn):
    make_result(conn, run_id="known", commit=make_commit(conn))
    body = _report(client, "run_ids=known,unknown")
    assert body["missing_run_ids"] == ["unknown"]
    assert (body["status"], body["status_reason"]) == (
        "action_required",
        "explicit run IDs were not found",
    )


def test_commitless_runs_need_action_and_name_the_missing_metadata(client, conn):
    make_result(conn, run_id="loose")
    body = _report(client, "run_ids=loose")
    assert body["status_reason"] == "selected runs are not connected to commit metadata"
    assert body["commit_sha"] is None
    error = body["runs"][0]["baseline_error"]
    assert (error["code"], error["message"]) == (
        "missing_commit_metadata",
        "selected run is not connected to commit metadata",
    )
    assert _rows(body)[0]["status"] == "missing_baseline"


def test_commit_mode_covers_every_run_on_the_commit_in_run_id_order(client, conn):
    commit = make_commit(conn)
    for run_id in ("b-run", "a-run"):
        make_result(conn, run_id=run_id, commit=commit)
    body = _report(client, f"repository={REPO}&commit_sha={commit['sha']}")
    assert body["selected_run_ids"] == ["a-run", "b-run"]
    assert body["summary"]["runs"] == 2


# -- a small repository: main history, a branch, several runs --------------------------------------


@pytest.fixture
def graph(conn):
    """Five default-branch commits with one result each (SVS 10.0, 10.1, 9.9, 10.0, 10.1 s), and
    a branch commit forked from the last one; one hardware, one case, one context."""
    hardware = make_hardware(conn)["id"]
    shared = {"hardware_id": hardware}
    main, parent = [], None
    for day, value in enumerate((10.0, 10.1, 9.9, 10.0, 10.1)):
        commit = make_commit(
            conn, f"main-{day}", parent=parent, timestamp=DAY + timedelta(days=day)
        )
        main.append(commit)
        parent = commit["sha"]
        make_result(
            conn,
            run_id=f"run-main-{day}",
            commit=commit,
            data=[value, value + 0.5, value + 1],
            timestamp=DAY + timedelta(days=day),
            **shared,
        )
    branch = make_commit(
        conn,
        "branch-1",
        parent=parent,
        branch="org:feature",
        fork_point_sha=parent,
        timestamp=DAY + timedelta(days=6),
    )
    return {"main": main, "branch": branch, "shared": shared}


def _contender(conn, graph, value, **overrides):
    values = {
        "run_id": "pr",
        "commit": graph["branch"],
        "data": [value, value + 0.5, value + 1],
        "timestamp": DAY + timedelta(days=6),
        **graph["shared"],
        **overrides,
    }
    return make_result(conn, **values)


def _branch_report(client, extra=""):
    return _report(client, f"repository={REPO}&commit_sha=branch-1{extra}")


def test_a_faster_contender_is_an_improvement_and_a_success(client, conn, graph):
    _contender(conn, graph, 5.0)
    body = _branch_report(client)
    assert [row["status"] for row in _rows(body)] == ["improved"]
    assert body["summary"]["improvements"] == 1 and body["status"] == "success"
    assert body["runs"][0]["baseline_run_id"] == "run-main-4"


def test_a_contender_within_the_noise_is_stable(client, conn, graph):
    _contender(conn, graph, 10.05)
    body = _branch_report(client)
    assert [row["status"] for row in _rows(body)] == ["stable"]
    assert body["summary"]["analyzed"] == body["summary"]["compared"] == 1


def test_a_baseline_without_history_leaves_the_row_insufficient_and_the_report_skipped(
    client, conn
):
    root = make_commit(conn, "lonely", timestamp=DAY)
    make_result(conn, run_id="base", commit=root)
    tip = make_commit(conn, "tip", parent="lonely", fork_point_sha="lonely", branch="org:x")
    make_result(conn, run_id="pr", commit=tip)
    body = _report(client, f"repository={REPO}&commit_sha=tip")
    (row,) = _rows(body)
    assert row["status"] == "insufficient"
    assert row["analysis"]["lookback_z_score"] is None
    assert row["analysis"]["pairwise"] is not None
    assert (body["status"], body["status_reason"]) == (
        "skipped",
        "no row has enough baseline history for z-score analysis",
    )


def test_a_fingerprint_the_baseline_run_lacks_is_missing_baseline(client, conn, graph):
    _contender(conn, graph, 10.0)
    other = make_hardware(conn, "runner-2")["id"]
    _contender(conn, graph, 10.0, hardware_id=other)
    body = _branch_report(client)
    assert sorted(row["status"] for row in _rows(body)) == ["missing_baseline", "stable"]
    missing = next(row for row in _rows(body) if row["status"] == "missing_baseline")
    assert missing["baseline"] is None and missing["analysis"] is None
    assert "compare" not in missing["links"]
    assert body["summary"]["missing_baseline"] == 1


def test_the_newest_baseline_result_of_a_fingerprint_is_paired(client, conn, graph):
    newer = make_result(
        conn,
        run_id="run-main-4",
        commit=graph["main"][4],
        data=[9.0, 9.5, 10.0],
        timestamp=DAY + timedelta(days=4, hours=1),
        **graph["shared"],
    )
    _contender(conn, graph, 10.0)
    (row,) = _rows(_branch_report(client))
    assert row["baseline"]["result_id"] == newer["id"]
    assert row["baseline"]["single_value_summary"] == 9.0


def test_a_timestamp_tie_between_baseline_results_is_broken_by_the_higher_id(client, conn, graph):
    tied = {"run_id": "run-main-4", "commit": graph["main"][4], **graph["shared"]}
    when = DAY + timedelta(days=4, hours=1)
    low = make_result(conn, id="0" * 32, timestamp=when, data=[8.0, 8.5, 9.0], **tied)
    high = make_result(conn, id="f" * 32, timestamp=when, data=[9.0, 9.5, 10.0], **tied)
    _contender(conn, graph, 10.0)
    (row,) = _rows(_branch_report(client))
    assert low["id"] < high["id"]
    assert row["baseline"]["result_id"] == high["id"]


def test_rows_name_cases_whose_ids_need_quoting_in_an_array(client, conn, graph):
    """Ids that are not hex take the slow path of queries.ci_report.text_array."""
    odd = 'case,with "quotes" and \\ NULL'
    conn.execute(
        """INSERT INTO "case" (id, name, tags) VALUES (%s, 'odd-case', '{"size": 3}')""",
        (odd,),
    )
    _contender(conn, graph, 10.0, case_id=odd)
    _contender(conn, graph, 10.0, run_id="pr-2")
    rows = _rows(_branch_report(client))
    odd_row = next(row for row in rows if row["name"] == "odd-case")
    assert odd_row["tags"] == {"name": "odd-case", "size": 3}
    assert {row["name"] for row in rows} == {"odd-case", "file-read"}


@pytest.mark.parametrize(
    ("values", "sent"),
    [
        ([], "{}"),
        (["0a1b", "ff"], "{0a1b,ff}"),
        (["0a1b", "NULL"], ["0a1b", "NULL"]),
        (["a,b"], ["a,b"]),
        (['x"y', "z\\"], ['x"y', "z\\"]),
    ],
)
def test_text_array_parameters_keep_every_value(conn, values, sent):
    assert ci_queries.text_array(values) == sent
    found = conn.execute("SELECT %(v)s::text[] AS v", {"v": ci_queries.text_array(values)})
    assert found.fetchone()["v"] == values


def test_different_units_are_not_comparable(client, conn, graph):
    _contender(conn, graph, 10.0, unit="ns")
    (row,) = _rows(body := _branch_report(client))
    assert (row["status"], row["reason"]) == ("not_comparable", "not comparable: units differ")
    assert row["baseline"] is not None and row["analysis"] is None
    assert body["summary"]["not_comparable"] == 1


def test_a_failed_baseline_result_is_not_comparable(client, conn, graph):
    make_result(
        conn,
        run_id="run-main-4",
        commit=graph["main"][4],
        data=[],
        timestamp=DAY + timedelta(days=5),
        **graph["shared"],
    )
    _contender(conn, graph, 10.0)
    (row,) = _rows(_branch_report(client))
    assert row["reason"] == "not comparable: baseline result failed"


def test_no_run_in_twenty_ancestors_is_a_baseline_error_that_does_not_block(client, conn):
    tip = make_commit(conn, "tip", parent=None, fork_point_sha="fork", branch="org:x")
    make_commit(conn, "fork", timestamp=DAY)
    make_result(conn, run_id="pr", commit=tip)
    body = _report(client, f"repository={REPO}&commit_sha=tip")
    error = body["runs"][0]["baseline_error"]
    assert error["code"] == "no_baseline_run"
    assert error["message"] == "searched 20 ancestors, no baseline run found"
    assert error["searched_ancestor_limit"] == 20
    assert error["searched_commit_shas"] == ["fork"]
    assert (body["status"], body["status_reason"]) == (
        "skipped",
        "no row has enough baseline history for z-score analysis",
    )


def test_an_unknown_parent_is_incomplete_baseline_metadata(client, conn, graph):
    orphan = make_commit(conn, "orphan", parent=None)
    make_result(conn, run_id="o", commit=orphan)
    body = _report(client, f"repository={REPO}&commit_sha=orphan&baseline=parent")
    assert body["runs"][0]["baseline_error"]["code"] == "unknown_parent"
    assert body["status_reason"] == "baseline commit metadata is incomplete"


# -- explicit baseline runs ------------------------------------------------------------------------


def test_an_explicit_baseline_run_is_used_as_given(client, conn, graph):
    _contender(conn, graph, 5.0)
    body = _report(client, "run_ids=pr&baseline_run_ids=run-main-1")
    assert body["baseline"] == "explicit_run"
    (run,) = body["runs"]
    assert run["baseline_run_id"] == "run-main-1"
    assert run["baseline_commit"]["sha"] == "main-1"
    assert run["commits_skipped"] == []
    (row,) = _rows(body)
    assert row["baseline"]["run_id"] == "run-main-1" and row["status"] == "improved"


def test_an_unknown_explicit_baseline_run_is_a_baseline_error(client, conn, graph):
    _contender(conn, graph, 10.0)
    body = _report(client, "run_ids=pr&baseline_run_ids=ghost")
    error = body["runs"][0]["baseline_error"]
    assert (error["code"], error["message"], error["baseline"]) == (
        "explicit_baseline_run_not_found",
        "explicit baseline run was not found",
        "explicit_run",
    )
    assert body["status_reason"] == "baseline commit metadata is incomplete"


def test_an_explicit_baseline_run_of_another_repository_is_not_found(client, conn, graph):
    _contender(conn, graph, 10.0)
    make_result(
        conn, run_id="foreign", commit=make_commit(conn, repository="https://github.com/o/x")
    )
    body = _report(client, "run_ids=pr&baseline_run_ids=foreign")
    assert body["runs"][0]["baseline_error"]["code"] == "explicit_baseline_run_not_found"


def test_an_explicit_baseline_run_on_two_commits_is_ambiguous(client, conn, graph):
    _contender(conn, graph, 10.0)
    make_result(conn, run_id="run-main-1", commit=graph["main"][2], **graph["shared"])
    error = _report(client, "run_ids=pr&baseline_run_ids=run-main-1")["runs"][0]["baseline_error"]
    assert (error["code"], error["message"]) == (
        "ambiguous_baseline_run",
        "explicit baseline run id matched multiple commits or run metadata groups",
    )


def test_a_commitless_explicit_baseline_run_lacks_commit_metadata(client, conn, graph):
    _contender(conn, graph, 10.0)
    make_result(conn, run_id="loose", **graph["shared"])
    error = _report(client, "run_ids=pr&baseline_run_ids=loose")["runs"][0]["baseline_error"]
    assert (error["code"], error["message"]) == (
        "missing_commit_metadata",
        "explicit baseline run is not connected to commit metadata",
    )


# -- limits, links, statements -------------------------------------------------------------------


def _copies(conn, row, count):
    """`count` more results of `row`'s run (new ids), written in one statement."""
    conn.execute(
        """
        INSERT INTO benchmark_result
        SELECT (jsonb_populate_record(r, jsonb_build_object('id', r.id || '-' || g))).*
        FROM benchmark_result AS r, generate_series(1, %(count)s) AS g
        WHERE r.id = %(id)s
        """,
        {"id": row["id"], "count": count},
    )


def test_more_than_5000_contender_rows_are_refused(client, conn):
    row = make_result(conn, run_id="huge", commit=make_commit(conn))
    _copies(conn, row, 5000)
    assert _problem(client, "run_ids=huge") == "comparison row limit exceeded: 5001 > 5000"


def test_exactly_5000_contender_rows_are_reported(client, conn):
    row = make_result(conn, run_id="huge", commit=make_commit(conn))
    _copies(conn, row, 4999)
    assert _report(client, "run_ids=huge")["summary"]["contender_results"] == 5000


def test_report_url_is_absolute_with_the_intended_base_url(conn, db, work_db_url):
    make_result(conn, run_id="r1", commit=make_commit(conn))
    settings = Settings.from_env(
        {"CONBENCH_DB_URL": work_db_url, "CONBENCH_INTENDED_BASE_URL": "https://cb.example/"}
    )
    client = testing.TestClient(create_app(settings, db))
    body = _report(client, "run_ids=r1&threshold=7.5&threshold_z=5")
    assert body["report_url"] == "https://cb.example/ci/report?run_ids=r1&threshold=7.5"


def test_report_url_is_relative_and_names_what_was_asked(client, conn, graph):
    _contender(conn, graph, 10.0)
    query = f"repository={REPO}/&commit_sha=branch-1&baseline=parent&threshold_z=3"
    body = _report(client, query)
    assert body["report_url"] == (
        f"/ci/report?repository={REPO}&commit_sha=branch-1&baseline=parent&threshold_z=3"
    )
    pairs = _report(client, "run_ids=pr&baseline_run_ids=run-main-1&threshold=10")
    assert pairs["report_url"] == "/ci/report?run_ids=pr&baseline_run_ids=run-main-1&threshold=10"


def test_compare_links_carry_non_default_thresholds(client, conn, graph):
    contender = _contender(conn, graph, 10.0)
    (row,) = _rows(_branch_report(client, "&threshold=2.5"))
    baseline = row["baseline"]["result_id"]
    assert row["links"]["compare"] == (
        f"/compare?baseline={baseline}&contender={contender['id']}&threshold=2.5"
    )
    assert row["analysis"]["pairwise"]["percent_threshold"] == 2.5


class _CountingConnection:
    """A connection that counts the statements executed through it."""

    def __init__(self, conn):
        self.conn, self.statements = conn, 0

    def execute(self, *args, **kwargs):
        self.statements += 1
        return self.conn.execute(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.conn, name)


def _statements(conn, request):
    counting = _CountingConnection(conn)
    ci_report.build_report(counting, request)
    return counting.statements


def test_the_statement_count_does_not_grow_with_the_rows(conn, graph):
    request = ci_report.ReportRequest(repository=REPO, commit_sha="branch-1")
    _contender(conn, graph, 10.0)
    few = _statements(conn, request)
    for i in range(30):
        hardware = make_hardware(conn, f"runner-{i}")["id"]
        make_result(conn, run_id="run-main-4", commit=graph["main"][4], hardware_id=hardware)
        _contender(conn, graph, 10.0, hardware_id=hardware)
    assert _statements(conn, request) == few


def test_rows_annotated_as_distribution_changes_are_named_for_the_alert_evaluator(conn, graph):
    annotated = _contender(
        conn, graph, 10.0, change_annotations={"begins_distribution_change": True}
    )
    _contender(conn, graph, 10.0)
    report = ci_report.build_report(
        conn, ci_report.ReportRequest(repository=REPO, commit_sha="branch-1")
    )
    assert report.annotated_result_ids == {annotated["id"]}


def test_no_results_in_selected_runs_needs_action():
    runs = [{"commit": {"sha": "a"}, "baseline_error": None, "comparisons": []}]
    summary = ci_report.summarize(runs, missing_runs=0)
    assert ci_report.report_status(summary, runs) == (
        "action_required",
        "selected runs contain no benchmark results",
    )


def test_a_timed_out_report_is_a_422_asking_to_narrow_the_request(client, monkeypatch):
    from conbench.db import QueryTimeout

    def cancelled(*args, **kwargs):
        raise QueryTimeout("cancelled")

    monkeypatch.setattr(ci_report, "build_report", cancelled)
    resp = client.simulate_get("/api/ci/report", query_string="run_ids=x")
    assert resp.status_code == 422
    assert resp.json["detail"] == (
        "read query timed out; narrow the request, reduce page size, add filters, or retry a "
        "more specific lookup"
    )


def test_the_slashed_path_is_not_a_route(client):
    assert client.simulate_get("/api/ci/report/", query_string="run_ids=x").status_code == 404


# -- the row summaries and analyses as the queries and the scorer shape them ----------------------


def test_a_result_without_stored_min_and_max_is_summarized_from_its_data(client, conn, graph):
    """The queries send the repetitions only when min or max is missing (rows then take the
    best repetition, as stats.single_value_summary does)."""
    contender = _contender(conn, graph, 7.0)
    conn.execute(
        "UPDATE benchmark_result SET min = NULL, max = NULL WHERE id = ANY(%s)",
        ([contender["id"]],),
    )
    (row,) = _rows(_branch_report(client))
    assert row["contender"]["single_value_summary"] == 7.0
    assert row["baseline"]["single_value_summary"] == 10.1
    assert row["status"] == "improved"


def test_a_repetition_that_is_null_leaves_the_result_without_a_summary(client, conn, graph):
    contender = _contender(conn, graph, 7.0)
    conn.execute("UPDATE benchmark_result SET data = '{7, NULL}' WHERE id = %s", (contender["id"],))
    (row,) = _rows(_branch_report(client))
    assert row["contender"]["single_value_summary"] is None
    assert row["reason"] == "not comparable: contender result failed"


def test_a_name_tag_keeps_the_first_place_and_gives_the_tags_name(client, conn, graph):
    odd = make_case(conn, "named-case", {"zz": 1, "name": "from-tags", "a": "b"})
    _contender(conn, graph, 10.0, case_id=odd)
    (row,) = _rows(_branch_report(client))
    assert row["name"] == "named-case"
    assert row["tags"] == {"name": "from-tags", "a": "b", "zz": 1}
    assert list(row["tags"])[0] == "name"


def test_the_cached_distributions_of_a_commit_are_read_whole_for_many_fingerprints(
    client, conn, graph, monkeypatch
):
    """lookback_for reads a baseline commit's stored rows by commit alone from
    COMMIT_WIDE_READ fingerprints on (and filters them); the report is the same."""
    _contender(conn, graph, 10.05)
    _branch_report(client)  # computes and stores the distribution
    expected = _branch_report(client)
    executed = []
    original = conn.execute

    def recording(query, *args, **kwargs):
        executed.append(query)
        return original(query, *args, **kwargs)

    monkeypatch.setattr(lookback, "COMMIT_WIDE_READ", 1)
    request = ci_report.ReportRequest(repository=REPO, commit_sha="branch-1")
    monkeypatch.setattr(conn, "execute", recording)
    body = ci_report.build_report(conn, request).body
    assert lookback._Q["list_commit_distributions"] in executed
    assert lookback._Q["list_cached_distributions"] not in executed
    assert body == {**expected, "report_url": body["report_url"]}
    assert _rows(body)[0]["analysis"]["lookback_z_score"] is not None


_SVS = (-3.0, 0.0, 1e-300, 2.5, 10.0, 1e300, math.inf, -math.inf, math.nan)
_DISTRIBUTIONS = ((None, None), (10.0, None), (10.0, 0.0), (10.0, -0.0), (9.5, 0.25),
                  (math.inf, 1.0), (math.nan, 1.0), (10.0, math.inf), (-2.0, 1e-300))  # fmt: skip


@pytest.mark.parametrize("unit", ["s", "B/s"])
@pytest.mark.parametrize("thresholds", [(5.0, 5.0), (0.5, 2.0)])
def test_the_scored_analysis_is_what_stats_computes(unit, thresholds):
    """ci_rows writes stats.lookback_z and stats.pairwise out; they agree on every value."""
    threshold, threshold_z = thresholds
    entities = {
        "case_name": {"c": "case"},
        "case": {"c": {}},
        "context": {"x": {}},
        "info": {"i": {}},
        "hardware": {"h": {}},
    }
    scorer = ci_rows.RowScorer(entities, threshold, threshold_z)
    when = datetime(2024, 2, 1)
    rows, baselines, distributions = [], {}, {}
    for i, (contender, baseline, dist) in enumerate(itertools.product(_SVS, _SVS, _DISTRIBUTIONS)):
        fingerprint = f"fp{i}"
        rows.append(
            (f"r{i}", "run", when, unit, True, contender, contender, None, fingerprint,
             "c", "x", "i", "h", False, None)
        )  # fmt: skip
        baselines[fingerprint] = (
            f"b{i}", "base", when, unit, True, baseline, baseline, None, fingerprint,
            "sha", when, None,
        )  # fmt: skip
        distributions[fingerprint] = dist
    commit = {"sha": "sha", "timestamp": when}
    for row, (contender, baseline, dist) in zip(
        scorer.rows(rows, commit, baselines, distributions),
        itertools.product(_SVS, _SVS, _DISTRIBUTIONS),
        strict=True,
    ):
        z = stats.lookback_z(contender, *dist, unit, threshold_z)
        change = stats.pairwise(baseline, contender, unit, threshold)
        assert _same(row["analysis"], {"pairwise": change, "lookback_z_score": z})
        assert row["status"] == (
            "insufficient"
            if z is None
            else "regressed"
            if z["regression_indicated"]
            else "improved"
            if z["improvement_indicated"]
            else "stable"
        )


def _same(a, b) -> bool:
    """Equal, NaN equal to NaN, and -0.0 told from 0.0."""
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float):
        return repr(a) == repr(b)
    return type(a) is type(b) and a == b
