"""benchalerts' Conbench step (the first step of every alert pipeline) against a live server."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import pytest
from benchalerts import Alerter, AlertPipeline
from benchalerts.conbench_dataclasses import RunComparisonInfo
from benchalerts.integrations.github import CheckStatus
from benchalerts.pipeline_steps import BaselineRunCandidates, GetConbenchZComparisonStep
from benchclients import ConbenchClient

from tests import factories, payloads
from tests.clients.conftest import new_run_id

pytestmark = pytest.mark.slow

PARENT = BaselineRunCandidates.parent
SLOWER = [10.0, 10.2, 9.9, 10.1, 10.0, 20.0]
STEADY = [5.0, 5.1, 4.9, 5.05, 4.95, 5.0]
"""Per commit, oldest first, the seconds of case 0 (2x slower on the last commit) and case 1."""


def _post_run(client: ConbenchClient, sha: str, repository: str, seconds: list[float]) -> str:
    """One run on commit `sha` with one result per case, each of constant iterations."""
    run_id = new_run_id()
    for case, value in enumerate(seconds):
        body = payloads.legacy_result(
            run_id=run_id,
            run_name=f"commit: {sha}",
            tags={"name": "file-read", "case": str(case)},
            github=payloads.github(repository=repository, commit=sha),
            stats=payloads.stats(data=[value] * 3, times=[]),
        )
        client.post("/benchmark-results/", body)
    return run_id


def _run_step(commit_hash: str, threshold: float | None = None):
    step = GetConbenchZComparisonStep(commit_hash, PARENT, z_score_threshold=threshold)
    return AlertPipeline(steps=[step]).run_pipeline()[step.step_name]


@pytest.fixture
def history(client_env, server_db) -> dict[str, str]:
    """A default-branch line of six commits (made as GitHub enrichment makes them) with one run
    each; the last is the contender."""
    repository = f"https://github.com/org/repo-{secrets.token_hex(4)}"
    client = ConbenchClient()
    parent, runs = None, []
    for hour, seconds in enumerate(zip(SLOWER, STEADY, strict=True)):
        timestamp = datetime(2024, 1, 1, 12) + timedelta(hours=hour)
        commit = factories.make_commit(
            server_db, parent=parent, timestamp=timestamp, repository=repository
        )
        runs.append(_post_run(client, commit["sha"], repository, list(seconds)))
        parent = commit["sha"]
    return {"contender_sha": parent, "contender_run": runs[-1], "baseline_run": runs[-2]}


def test_step_without_a_baseline_lists_the_contender_results(client_env):
    client = ConbenchClient()
    sha = secrets.token_hex(20)
    run_id = new_run_id()
    github = payloads.github(commit=sha)
    ok = client.post("/benchmarks/", payloads.legacy_result(run_id=run_id, github=github))
    failed = payloads.legacy_result(run_id=run_id, github=github, tags={"name": "write"})
    failed.pop("stats")
    failed["error"] = {"stack_trace": "boom"}
    failed = client.post("/benchmarks/", failed)

    comparison = _run_step(sha)

    [run] = comparison.run_comparisons
    assert run.contender_id == run_id
    assert run.baseline_id is None
    assert run.baseline_error == "this baseline commit type does not exist for this run"
    assert run.compare_results is None
    assert {r["id"] for r in run.benchmark_results} == {ok["id"], failed["id"]}
    assert comparison.commit_hash == sha
    [errored] = comparison.results_with_errors
    assert errored.display_name == "write"
    assert errored.link == f"{client_env.base_url}/benchmark-results/{failed['id']}"
    assert errored.run_hardware == "ci-runner-1"
    assert Alerter().github_check_status(comparison) is CheckStatus.ACTION_REQUIRED


def test_commit_without_runs_gives_an_empty_comparison(client_env):
    comparison = _run_step(secrets.token_hex(20))
    assert comparison.run_comparisons == []
    assert Alerter().github_check_status(comparison) is CheckStatus.ACTION_REQUIRED


def test_contender_run_names_the_run_of_the_parent_commit_as_baseline(client_env, history):
    info = ConbenchClient().get(f"/runs/{history['contender_run']}/")
    run = RunComparisonInfo(ConbenchClient().url, info, PARENT.value)
    assert run.baseline_error is None
    assert run.baseline_id == history["baseline_run"]
    assert run.baseline_commits_skipped == []
    assert run.compare_path == (
        f"/compare/runs/{history['baseline_run']}...{history['contender_run']}/"
    )
    assert info["candidate_baseline_runs"]["fork_point"] == {
        "baseline_run_id": None,
        "commits_skipped": None,
        "error": "the contender run is already on the default branch",
    }


def test_run_compare_pages_through_every_case_with_its_z_score(client_env, history):
    """The call benchalerts makes once it has a baseline run, one case per page."""
    path = f"/compare/runs/{history['baseline_run']}...{history['contender_run']}/"
    compared = ConbenchClient().get_all(path, params={"page_size": 1, "threshold_z": 5.0})
    by_case = {c["contender"]["case_permutation"]: c for c in compared}
    assert sorted(by_case) == ["case=0", "case=1"]
    for comparison in compared:
        assert comparison["contender"]["benchmark_name"] == "file-read"
        assert comparison["contender"]["language"] == "Python"
        assert comparison["contender"]["error"] is None
        assert comparison["baseline"]["run_id"] == history["baseline_run"]
        assert comparison["analysis"]["lookback_z_score"]["z_threshold"] == 5.0
    assert by_case["case=0"]["analysis"]["lookback_z_score"]["regression_indicated"] is True
    assert by_case["case=1"]["analysis"]["lookback_z_score"]["regression_indicated"] is False


def test_step_flags_the_regression_against_the_parent_baseline(client_env, history):
    comparison = _run_step(history["contender_sha"], threshold=5.0)

    [run] = comparison.run_comparisons
    assert run.baseline_id == history["baseline_run"]
    assert len(run.compare_results) == 2
    assert comparison.z_score_threshold == 5.0
    [regression] = comparison.results_with_z_regressions
    assert regression.display_name == "`file-read` (Python) with case=0"
    assert regression.link.startswith(f"{client_env.base_url}/compare/benchmarks/")
    assert Alerter().github_check_status(comparison) is CheckStatus.FAILURE
    assert Alerter().github_check_title(comparison) == "Found 1 regression"
