"""benchconnect's commands, as users run them, against a live server."""

from __future__ import annotations

import importlib
import json
import secrets
import subprocess
import sys
import sysconfig
import types
from pathlib import Path

import pytest
from benchadapt import _machine_info
from benchclients import ConbenchClient
from benchclients.http import RetryingHTTPClientNonRetryableResponse
from benchconnect import _post, _put
from click.testing import CliRunner

from tests.clients.conftest import new_run_id

pytestmark = [
    pytest.mark.slow,
    # benchconnect reads stdin through click.get_text_stream, deprecated since click 8.2.
    pytest.mark.filterwarnings("ignore:'get_text_stream' is deprecated:DeprecationWarning"),
]

REPOSITORY = "https://github.com/org/repo"


def _invoke(command, *args: str) -> None:
    outcome = CliRunner().invoke(command, list(args))
    assert outcome.exit_code == 0, (outcome.output, outcome.exception)


def _result_blob(run_id: str, name: str = "file-read") -> dict:
    """What `benchconnect augment result` prints: a publishable benchadapt result."""
    return {
        "run_id": run_id,
        "run_reason": "commit",
        "batch_id": secrets.token_hex(16),
        "timestamp": "2024-03-01T10:00:00.123456+00:00",
        "tags": {"name": name},
        "context": {"benchmark_language": "R"},
        "info": {},
        "github": {"repository": REPOSITORY, "commit": secrets.token_hex(20)},
        "machine_info": _machine_info.machine_info(host_name="connect-runner"),
        "stats": {"data": [2.0, 2.5, 3.0], "unit": "s", "iterations": 3},
    }


def _stored(run_id: str) -> list[dict]:
    return ConbenchClient().get_all("/benchmark-results/", params={"run_id": run_id})


def test_post_result_sends_a_json_blob_to_the_benchmarks_alias(client_env):
    run_id = new_run_id()
    _invoke(_post.result, "--json", json.dumps(_result_blob(run_id)))
    [stored] = _stored(run_id)
    assert stored["tags"] == {"name": "file-read"}
    assert stored["hardware"]["name"] == "connect-runner"


def test_post_result_sends_every_file_of_a_directory(client_env, tmp_path):
    run_id = new_run_id()
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.json").write_text(json.dumps(_result_blob(run_id, name)))
    _invoke(_post.result, "--path", str(tmp_path))
    assert sorted(r["tags"]["name"] for r in _stored(run_id)) == ["a", "b", "c"]


@pytest.fixture
def submit_result(client_env, monkeypatch, tmp_path):
    """benchconnect's `submit result` command, run in a directory of its own.

    benchconnect 2023.2.8 imports `benchadapt.run.BenchmarkRun` (used only by `start run`), which
    benchadapt 2024.3.20 no longer ships; a stand-in that refuses to be used lets the submit path,
    which never touches it, import."""
    stand_in = types.ModuleType("benchadapt.run")

    class BenchmarkRun:
        def __init__(self, **fields: object) -> None:
            raise AssertionError("benchadapt.run.BenchmarkRun is not part of this flow")

    stand_in.BenchmarkRun = BenchmarkRun  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "benchadapt.run", stand_in)
    monkeypatch.chdir(tmp_path)
    yield importlib.import_module("benchconnect._submit").submit_result
    for module in ("benchconnect._submit", "benchconnect._augment", "benchconnect._start"):
        sys.modules.pop(module, None)


def test_submit_result_fills_in_the_run_from_the_statefile(submit_result):
    """The statefile is what `start run` leaves behind (`_start.RUN_TO_RESULT_MAPPING`)."""
    run_id, sha = new_run_id(), secrets.token_hex(20)
    state = {
        "run_id": run_id,
        "run_name": f"commit: {sha}",
        "run_reason": "commit",
        "github": {"repository": REPOSITORY, "commit": sha},
        "machine_info": _machine_info.machine_info(host_name="connect-runner"),
    }
    Path("benchconnect-state.json").write_text(json.dumps(state))
    for name in ("read", "write"):
        result = {
            "tags": {"name": name, "format": "parquet"},
            "context": {"benchmark_language": "Python"},
            "stats": {"data": [1.0, 1.5, 2.0], "unit": "s", "iterations": 3},
        }
        _invoke(submit_result, "--json", json.dumps(result))
    stored = _stored(run_id)
    assert sorted(r["tags"]["name"] for r in stored) == ["read", "write"]
    assert {r["commit"]["sha"] for r in stored} == {sha}
    assert {r["run_tags"]["name"] for r in stored} == {f"commit: {sha}"}
    assert ConbenchClient().get(f"/runs/{run_id}/")["hardware"]["name"] == "connect-runner"


def test_start_run_is_refused_without_retries_because_run_writes_are_retired(client_env):
    """`start run` (and `post run`) post to /api/runs/, retired upstream in 2023: 405, not 5xx."""
    run = {"id": new_run_id(), "reason": "commit", "github": {"repository": REPOSITORY}}
    assert _refusal(_post.run, "--json", json.dumps(run)) == 405


def test_finish_run_is_refused_without_retries_because_run_writes_are_retired(client_env):
    """`finish run` (and `put run`) put to `/api/runs//<id>/` (sic: the client doubles the slash).
    Upstream's Werkzeug merged the slashes (308) and then answered 405; we answer 404. Either way
    the client gives up at once, which is what matters to its users."""
    run = {"id": new_run_id(), "finished_timestamp": "2024-03-01T10:00:00+00:00"}
    assert _refusal(_put.run, "--json", json.dumps(run)) in (404, 405)


def _refusal(command, *args: str) -> int:
    """The status code of the response that made the command give up without retrying."""
    outcome = CliRunner().invoke(command, list(args))
    assert isinstance(outcome.exception, RetryingHTTPClientNonRetryableResponse), outcome.output
    return outcome.exception.error_response.status_code


@pytest.mark.xfail(
    strict=True,
    reason="client pin clash: benchconnect 2023.2.8 imports benchadapt.run, "
    "which benchadapt 2024.3.20 no longer ships",
)
def test_console_script_starts():
    script = Path(sysconfig.get_path("scripts")) / "benchconnect"
    done = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
