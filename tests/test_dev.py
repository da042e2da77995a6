"""`conbench dev`: embedded PostgreSQL + server, stopped together, never duplicated."""

import signal
import subprocess
import sys
import time

import pytest
import requests

from conbench.embedded_pg import EmbeddedPostgres, free_port
from tests import procs

pytestmark = pytest.mark.slow


def _start_dev(data_dir, log_path):
    port = free_port()
    args = ["dev", "--data-dir", str(data_dir), "--addr", f"127.0.0.1:{port}"]
    return procs.start(args, procs.base_env(), log_path, port=port)


def _wait_gone(pids, timeout=15):
    deadline = time.monotonic() + timeout
    while any(procs.Path(f"/proc/{p}").exists() for p in pids):
        assert time.monotonic() < deadline, f"processes still alive: {pids}"
        time.sleep(0.1)


def test_dev_serves_and_sigterm_stops_server_and_database(tmp_path):
    dev = _start_dev(tmp_path / "data", tmp_path / "dev.log")
    pg = EmbeddedPostgres(tmp_path / "data")
    postmaster = pg.running()
    assert postmaster is not None
    assert requests.get(dev.base_url + "/api/ping/", timeout=5).json()["schema_version"] >= 1
    workers = procs.children(dev.proc.pid)
    assert dev.stop(signal.SIGTERM) == 0
    _wait_gone([postmaster.pid, *workers])
    assert pg.running() is None


def test_database_left_by_a_killed_dev_is_reused_not_duplicated(tmp_path):
    first = _start_dev(tmp_path / "data", tmp_path / "first.log")
    pg = EmbeddedPostgres(tmp_path / "data")
    leaked = pg.running()
    first.stop(signal.SIGKILL)
    assert pg.running() == leaked, "SIGKILL leaves the postmaster behind"

    second = _start_dev(tmp_path / "data", tmp_path / "second.log")
    assert pg.running() == leaked
    assert "reusing PostgreSQL" in second.log()
    assert second.stop(signal.SIGINT) in (0, 130)
    _wait_gone([leaked.pid])


def test_a_second_dev_on_the_same_data_dir_is_refused(tmp_path):
    first = _start_dev(tmp_path / "data", tmp_path / "first.log")
    try:
        other = subprocess.run(
            [sys.executable, "-m", "conbench", "dev", "--data-dir", str(tmp_path / "data")]
            + ["--addr", f"127.0.0.1:{free_port()}"],
            env=procs.base_env(),
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert other.returncode == 1
        assert "another conbench dev is using" in other.stderr
        assert requests.get(first.base_url + "/api/ping", timeout=5).status_code == 200
    finally:
        first.stop()
