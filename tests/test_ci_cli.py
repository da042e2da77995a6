"""`conbench ci report` against a real `conbench serve` holding the demo seed (07 §9)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests import procs
from tests.conftest import create_database, drop_database

pytestmark = pytest.mark.slow

DEMO = "https://github.com/conbench/demo"


@pytest.fixture(scope="module")
def seeded_db(pg_admin_url, template_db_name):
    """A fresh clone of the template for the module's server, which seeds it at start."""
    name = f"cbt_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_ci_cli"
    yield create_database(pg_admin_url, name, template=template_db_name)
    drop_database(pg_admin_url, name)


@pytest.fixture(scope="module")
def served(seeded_db, tmp_path_factory):
    env = procs.base_env(
        CONBENCH_DB_URL=seeded_db,
        CONBENCH_SEED="true",
        CONBENCH_INTENDED_BASE_URL="https://conbench.example",
    )
    log = tmp_path_factory.mktemp("ci-cli") / "serve.log"
    server = procs.start(["serve", "--workers", "1"], env, log)
    yield server
    server.stop()


def ci_report(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "conbench", "ci", "report", *args],
        env={"PATH": "/usr/bin:/bin", **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def commit(served, sha, *more):
    return ci_report("--server", served.base_url, "--repository", DEMO, "--commit", sha, *more)


def test_a_regression_exits_1_with_readable_markdown(served):
    proc = commit(served, "feature-branch-1")
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout
    assert out.startswith("## ❌ Conbench CI report: failure\n")
    assert "**lookback regression detected**" in out
    assert "### Regressions (1)" in out
    assert (
        "| demo-benchmark (dataset=uniform) | demo-runner | 1.1 | 1.8 | -63.64% | -19.64 |" in out
    )
    assert "| `run-feature-branch-1` | `feature-branch-1` | `run-commit-03` | `commit-03` |" in out
    assert out.rstrip().endswith(
        f"[Full report](https://conbench.example/ci/report?repository={DEMO}"
        "&commit_sha=feature-branch-1)"
    )


def test_a_success_exits_0(served):
    proc = commit(served, "commit-05", "--baseline", "parent")
    assert proc.returncode == 0, proc.stderr
    assert "Conbench CI report: success" in proc.stdout
    assert "**no regressions**" in proc.stdout


def test_skipped_exits_0(served):
    proc = commit(served, "commit-02", "--baseline", "parent")
    assert proc.returncode == 0, proc.stderr
    assert "Conbench CI report: skipped" in proc.stdout
    assert "**no row has enough baseline history for z-score analysis**" in proc.stdout


def test_action_required_exits_1_and_names_the_baseline_problem(served):
    proc = commit(served, "commit-05")
    assert proc.returncode == 1
    assert "**baseline commit metadata is incomplete**" in proc.stdout
    assert "default_branch_run: contender is already on the default branch" in proc.stdout


def test_benchmark_errors_are_listed_and_exit_1(served):
    proc = commit(served, "commit-06-broken", "--format", "markdown")
    assert proc.returncode == 1
    assert "**benchmark errors require inspection**" in proc.stdout
    assert "### Benchmark errors (1)" in proc.stdout


def test_json_format_prints_the_report_body(served):
    proc = ci_report(
        "--server", served.base_url, "--run-ids", "run-feature-branch-1", "--format", "json"
    )
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report["status"] == "failure"
    assert report["runs"][0]["baseline_run_id"] == "run-commit-03"
    (row,) = report["runs"][0]["comparisons"]
    assert row["analysis"]["lookback_z_score"]["z_score"] == -19.64


def test_thresholds_are_passed_to_the_server(served):
    proc = ci_report(
        "--server",
        served.base_url,
        "--run-ids",
        "run-feature-branch-1",
        "--threshold-z",
        "25",
        "--threshold",
        "70",
        "--format",
        "json",
    )
    report = json.loads(proc.stdout)
    assert (report["threshold"], report["threshold_z"], report["status"]) == (70.0, 25.0, "success")
    assert proc.returncode == 0


def test_the_server_url_may_come_from_the_environment(served):
    proc = ci_report("--run-ids", "run-commit-05", env={"CONBENCH_URL": served.base_url})
    assert proc.returncode == 1
    assert "Conbench CI report: action_required" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--repository", DEMO], "--repository and --commit must be given together"),
        ([], "give --repository and --commit, or --run-ids"),
    ],
)
def test_missing_selectors_are_usage_errors(served, args, message):
    proc = ci_report("--server", served.base_url, *args)
    assert proc.returncode == 2
    assert message in proc.stderr and proc.stdout == ""


def test_parameters_the_server_refuses_are_usage_errors(served):
    proc = ci_report("--server", served.base_url, "--run-ids", "a", "b", "--baseline-run-ids", "c")
    assert proc.returncode == 2
    assert "HTTP 422: baseline_run_ids must match run_ids count" in proc.stderr


def test_unknown_runs_exit_1_with_the_server_detail(served):
    proc = ci_report("--server", served.base_url, "--run-ids", "no-such-run")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: HTTP 404: ")


def test_no_server_is_a_usage_error():
    proc = ci_report("--run-ids", "x")
    assert proc.returncode == 2
    assert "no server" in proc.stderr


def test_an_unreachable_server_exits_1():
    proc = ci_report("--server", "http://127.0.0.1:9", "--run-ids", "x")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: request failed")


def test_argparse_rejects_an_unknown_format():
    proc = ci_report("--format", "html")
    assert proc.returncode == 2
