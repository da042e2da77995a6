"""`conbench serve` for real: gunicorn, two workers, a migrated database."""

import signal
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests import procs

pytestmark = pytest.mark.slow


@pytest.fixture
def served(fresh_db_url, tmp_path):
    metrics_dir = tmp_path / "metrics"
    env = procs.base_env(CONBENCH_DB_URL=fresh_db_url, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    server = procs.start(["serve", "--workers", "2"], env, tmp_path / "serve.log")
    server.metrics_dir = metrics_dir
    yield server
    server.stop()


def test_ping_metrics_and_error_body_from_a_real_server(served):
    ping = requests.get(served.base_url + "/api/ping/", timeout=5)
    assert ping.status_code == 200
    assert ping.json()["schema_version"] >= 1
    missing = requests.get(served.base_url + "/api/nope/", timeout=5)
    assert missing.status_code == 404
    assert set(missing.json()) == {"code", "name", "description"}
    text = requests.get(served.base_url + "/metrics", timeout=5).text
    assert "conbench_up 1.0" in text
    assert 'route="/api/*",status="404"' in text


def test_metrics_sum_requests_served_by_both_workers(served):
    def ping(_):
        with requests.Session() as s:  # a new connection each time spreads over the workers
            return s.get(served.base_url + "/api/ping", timeout=5).status_code

    before = _ping_count(served)
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(ping, range(200)))
    assert statuses == [200] * 200
    workers = procs.children(served.proc.pid)
    assert len(workers) == 2
    files = {p.name for p in served.metrics_dir.glob("counter_*.db")}
    assert {f"counter_{pid}.db" for pid in workers} <= files, "both workers must have counted"
    assert _ping_count(served) - before == 200


def _ping_count(server):
    text = requests.get(server.base_url + "/metrics", timeout=5).text
    prefix = 'conbench_http_requests_total{method="GET",route="/api/ping",status="200"} '
    line = next(ln for ln in text.splitlines() if ln.startswith(prefix))
    return float(line.removeprefix(prefix))


def test_counts_of_a_killed_worker_survive_in_the_scrape(served):
    for _ in range(10):
        requests.get(served.base_url + "/api/ping", headers={"Connection": "close"}, timeout=5)
    for pid in procs.children(served.proc.pid):
        procs.os.kill(pid, signal.SIGKILL)
    procs.wait_for_ping(served)
    assert _ping_count(served) >= 10


def test_sigterm_stops_master_and_workers(served):
    workers = procs.children(served.proc.pid)
    assert served.stop(signal.SIGTERM) == 0
    assert not any(procs.Path(f"/proc/{pid}").exists() for pid in workers)


def test_an_expect_100_continue_request_gets_the_interim_response_at_once(served):
    host, port = served.base_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            b"POST /api/results HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Expect: 100-continue\r\nContent-Length: 2\r\n\r\n"
        )
        sock.settimeout(0.15)  # a corked socket would hold it for 200 ms
        assert sock.recv(25) == b"HTTP/1.1 100 Continue\r\n\r\n"


def test_a_response_arrives_whole_and_the_connection_closes(served):
    host, port = served.base_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    assert len(body) == length > 10_000
