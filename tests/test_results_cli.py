"""`conbench results submit` against a real `conbench serve`."""

import json
import os
import subprocess
import sys

import pytest

from conbench.db import connect
from tests import payloads, procs
from tests.conftest import create_database, drop_database

pytestmark = pytest.mark.slow

TOKEN = "cli-test-operator-token"


@pytest.fixture(scope="module")
def module_db(pg_admin_url, template_db_name):
    """One database for the module's server (fresh_db_url is per test)."""
    name = f"cbt_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_results_cli"
    yield create_database(pg_admin_url, name, template=template_db_name)
    drop_database(pg_admin_url, name)


@pytest.fixture(scope="module")
def served(module_db, tmp_path_factory):
    env = procs.base_env(CONBENCH_DB_URL=module_db, CONBENCH_API_TOKEN=TOKEN)
    log = tmp_path_factory.mktemp("cli") / "serve.log"
    server = procs.start(["serve", "--workers", "2"], env, log)
    yield server
    server.stop()


def submit(*args, env=None):
    proc = subprocess.run(
        [sys.executable, "-m", "conbench", "results", "submit", *args],
        env={"PATH": "/usr/bin:/bin", **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    return proc, lines


def write(path, doc):
    path.write_text(json.dumps(doc))
    return str(path)


def auth(served):
    return {"CONBENCH_URL": served.base_url, "CONBENCH_TOKEN": TOKEN}


def test_submits_object_and_array_files_with_one_line_per_result(served, tmp_path):
    one = write(tmp_path / "one.json", payloads.legacy_result())
    many = write(tmp_path / "many.json", [payloads.legacy_result(run_id=f"r{i}") for i in range(3)])
    proc, lines = submit(one, many, env=auth(served))
    assert proc.returncode == 0, proc.stderr
    assert [(ln["file"], ln.get("index")) for ln in lines] == [
        (one, None),
        (many, 0),
        (many, 1),
        (many, 2),
    ]
    assert all(ln["ok"] and len(ln["id"]) == 32 and ln["history_fingerprint"] for ln in lines)
    assert "index" not in lines[0]


def test_a_glob_expands_in_sorted_order_and_bulk_sends_arrays(served, tmp_path):
    for name in ("b", "a", "c"):
        write(tmp_path / f"{name}.json", [payloads.legacy_result(run_id=name)] * 2)
    proc, lines = submit(str(tmp_path / "*.json"), "--bulk", env=auth(served))
    assert proc.returncode == 0, proc.stderr
    assert [ln["file"].rsplit("/", 1)[1] for ln in lines] == ["a.json"] * 2 + ["b.json"] * 2 + [
        "c.json"
    ] * 2
    assert len({ln["id"] for ln in lines}) == 6


def test_submission_key_from_file_makes_a_rerun_replay(served, tmp_path):
    path = write(
        tmp_path / "keyed.json", [payloads.legacy_result(run_id=f"k{i}") for i in range(2)]
    )
    first, first_lines = submit(path, "--submission-key-from-file", env=auth(served))
    again, again_lines = submit(path, "--submission-key-from-file", "--jobs", "1", env=auth(served))
    assert first.returncode == again.returncode == 0
    assert [ln["id"] for ln in first_lines] == [ln["id"] for ln in again_lines]


def test_invalid_results_are_reported_locally_and_never_sent(served, tmp_path, module_db):
    with connect(module_db) as conn:
        before = conn.execute("SELECT count(*) AS n FROM benchmark_result").fetchone()["n"]
    bad = payloads.legacy_result(stats=payloads.stats(data=[1, "x"]))
    path = write(tmp_path / "mixed.json", [payloads.legacy_result(), bad])
    proc, lines = submit(path, "--server", served.base_url, "--token", TOKEN, "--bulk")
    assert proc.returncode == 1
    assert lines[0]["ok"] is True
    assert lines[1]["ok"] is False
    assert lines[1]["error"].startswith("invalid: stats.data[1]")
    with connect(module_db) as conn:
        after = conn.execute("SELECT count(*) AS n FROM benchmark_result").fetchone()["n"]
    assert after == before + 1


def test_an_unreadable_json_file_fails_its_line(served, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    proc, lines = submit(str(path), env=auth(served))
    assert proc.returncode == 1
    assert lines == [{"file": str(path), "ok": False, "error": lines[0]["error"]}]
    assert lines[0]["error"].startswith("not valid JSON")


def test_a_server_refusal_fails_the_result_with_its_status(served, tmp_path):
    path = write(tmp_path / "one.json", payloads.legacy_result())
    proc, lines = submit(path, env={"CONBENCH_URL": served.base_url, "CONBENCH_TOKEN": "wrong"})
    assert proc.returncode == 1
    assert lines[0]["ok"] is False
    assert lines[0]["error"].startswith("HTTP 401")


def test_no_server_is_a_usage_error(tmp_path):
    path = write(tmp_path / "one.json", payloads.legacy_result())
    proc, lines = submit(path)
    assert proc.returncode == 2
    assert "CONBENCH_URL" in proc.stderr
    assert lines == []


def test_a_pattern_matching_nothing_is_a_usage_error(tmp_path):
    proc, _ = submit(str(tmp_path / "*.json"), "--server", "http://127.0.0.1:9")
    assert proc.returncode == 2
    assert "no file matches" in proc.stderr
