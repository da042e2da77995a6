"""benchadapt results, built the way benchmark harnesses build them, posted to a live server."""

from __future__ import annotations

import secrets
from datetime import datetime

import numpy as np
import pytest
from benchadapt import BenchmarkResult
from benchadapt.adapters import CallableAdapter
from benchclients import ConbenchClient
from benchclients.http import RetryingHTTPClientNonRetryableResponse

from tests.clients.conftest import new_run_id

pytestmark = pytest.mark.slow

REPOSITORY = "https://github.com/org/repo"


@pytest.fixture
def harness_env(client_env, monkeypatch):
    """What a CI job exports before running a benchadapt harness."""
    sha = secrets.token_hex(20)
    monkeypatch.setenv("CONBENCH_PROJECT_REPOSITORY", REPOSITORY)
    monkeypatch.setenv("CONBENCH_PROJECT_COMMIT", sha)
    monkeypatch.setenv("CONBENCH_MACHINE_INFO_NAME", "bench-runner-7")
    return sha


def _result(**fields) -> BenchmarkResult:
    defaults = {
        "run_id": new_run_id(),
        "run_reason": "commit",
        "run_tags": {"arch": "x86_64"},
        "stats": {"data": [1.0, 2.0, 3.0, 4.0], "unit": "s", "iterations": 4},
        "tags": {"name": "file-read", "dataset": "nyctaxi", "threads": 8, "cold": False},
        "context": {"benchmark_language": "Python", "arrow_compiler_id": "GNU"},
        "info": {"arrow_version": "15.0.0"},
    }
    return BenchmarkResult(**{**defaults, **fields})


def test_harness_result_is_stored_with_its_tags_context_commit_and_machine(harness_env, server_db):
    result = _result()
    payload = result.to_publishable_dict()
    created = ConbenchClient().post("/benchmark-results/", payload)

    assert created["run_id"] == result.run_id
    assert created["batch_id"] == result.batch_id
    assert created["run_tags"] == {"arch": "x86_64", "name": f"commit: {harness_env}"}
    assert created["tags"] == {
        "name": "file-read",
        "dataset": "nyctaxi",
        "threads": "8",
        "cold": "False",
    }
    assert created["commit"]["sha"] == harness_env
    assert created["commit_repo_url"] == REPOSITORY
    sent = datetime.fromisoformat(payload["timestamp"])
    assert created["timestamp"] == sent.strftime("%Y-%m-%dT%H:%M:%SZ")
    context = ConbenchClient().get(created["links"]["context"].split("/api", 1)[1])
    assert context["benchmark_language"] == "Python"
    assert context["arrow_compiler_id"] == "GNU"

    machine = payload["machine_info"]
    hardware = created["hardware"]
    assert hardware["name"] == "bench-runner-7"
    assert hardware["cpu_core_count"] == int(machine["cpu_core_count"])
    assert hardware["memory_bytes"] == int(machine["memory_bytes"])
    assert hardware["kernel_name"] == machine["kernel_name"]
    assert "hash" not in hardware
    stored_hash = server_db.execute(
        "SELECT hash FROM hardware WHERE id = %s", (hardware["id"],)
    ).fetchone()["hash"]
    counts = ("gpu_count", "cpu_core_count", "cpu_thread_count", "memory_bytes")
    assert stored_hash == "-".join([machine["name"], *(str(int(machine[k])) for k in counts)])


def test_server_recomputes_the_statistics_and_ignores_the_clients(harness_env):
    data = [1.0, 2.0, 3.0, 4.0]
    stats = {"data": data, "unit": "s", "iterations": 4, "mean": 99.0, "max": -1.0}
    created = ConbenchClient().post("/benchmarks/", _result(stats=stats).to_publishable_dict())
    q1, median, q3 = np.percentile(data, [25, 50, 75])
    assert created["stats"] == {
        "data": data,
        "times": [],
        "unit": "s",
        "time_unit": None,
        "iterations": 4,
        "min": 1.0,
        "max": 4.0,
        "mean": 2.5,
        "median": median,
        "stdev": pytest.approx(float(np.std(data, ddof=1)), rel=1e-12),
        "q1": q1,
        "q3": q3,
        "iqr": q3 - q1,
    }
    assert created["error"] is None


def test_errored_benchmark_keeps_its_error_and_stats_verbatim(harness_env):
    error = {"stack_trace": "Traceback ...", "command": "run file-read"}
    result = _result(stats=None, error=error)
    created = ConbenchClient().post("/benchmarks/", result.to_publishable_dict())
    assert created["error"] == error
    assert created["stats"]["data"] == []


def test_unfinished_iterations_make_a_partial_result(harness_env):
    stats = {"data": [1.0, None, 3.0], "unit": "s", "iterations": 3}
    created = ConbenchClient().post("/benchmarks/", _result(stats=stats).to_publishable_dict())
    assert created["error"] == {"status": "Partial result: not all iterations completed"}
    assert created["stats"]["data"] == [1.0, None, 3.0]
    assert created["stats"]["mean"] is None


def test_callable_adapter_posts_one_run_of_results(harness_env):
    def benchmarks() -> list[BenchmarkResult]:
        return [
            BenchmarkResult(
                stats={"data": [float(i), float(i + 1), float(i + 2)], "unit": "i/s"},
                tags={"name": "throughput", "size": size},
                context={"benchmark_language": "C++"},
            )
            for i, size in enumerate(["small", "large"], 1)
        ]

    adapter = CallableAdapter(
        callable=benchmarks,
        result_fields_override={"run_reason": "nightly"},
        result_fields_append={"run_tags": {"runner": "gh-actions"}},
    )
    adapter()
    run_id = adapter.results[0].run_id
    stored = ConbenchClient().get_all("/benchmark-results/", params={"run_id": run_id})
    assert sorted(r["tags"]["size"] for r in stored) == ["large", "small"]
    assert {r["run_reason"] for r in stored} == {"nightly"}
    # The adapter sets run_reason after construction, so benchadapt names the run "None: <sha>".
    assert {r["run_tags"]["name"] for r in stored} == {f"None: {harness_env}"}
    assert {r["run_tags"]["runner"] for r in stored} == {"gh-actions"}
    run = ConbenchClient().get(f"/runs/{run_id}/")
    assert run["reason"] == "nightly"
    assert run["commit"]["sha"] == harness_env


def test_result_without_run_id_is_rejected_as_a_non_retryable_400(harness_env):
    payload = _result(run_id=None).to_publishable_dict()
    assert payload["run_id"] is None
    with pytest.raises(RetryingHTTPClientNonRetryableResponse) as failed:
        ConbenchClient().post("/benchmarks/", payload)
    assert failed.value.error_response.status_code == 400
    assert failed.value.error_response.json()["description"] == {
        "run_id": ["Field may not be null."]
    }
