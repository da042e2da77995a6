"""The app's global behaviour: ping, the one error shape, guards and metrics labels."""

import re

import pytest

from conbench import metrics


def _assert_error_shape(resp, status):
    assert resp.status_code == status
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json
    assert set(body) == {"code", "name", "description"}
    assert body["code"] == status
    assert isinstance(body["name"], str) and body["name"]
    return body


@pytest.mark.parametrize("path", ["/api/ping", "/api/ping/"])
def test_ping_answers_on_both_slash_forms(client, path):
    resp = client.simulate_get(path)
    assert resp.status_code == 200
    assert set(resp.json) == {"date", "alembic_version", "commit", "schema_version"}
    assert resp.json["date"].endswith(" UTC")


def test_ping_does_not_touch_the_database(settings):
    from falcon import testing

    from conbench.app import create_app

    class NoDatabase:
        def open(self):
            raise AssertionError("ping opened the database")

        close = open

        def connection(self):
            raise AssertionError("ping used the database")

    resp = testing.TestClient(create_app(settings, NoDatabase())).simulate_get("/api/ping/")
    assert resp.status_code == 200


def test_unknown_route_is_404_with_the_error_shape(client):
    body = _assert_error_shape(client.simulate_get("/api/no-such-thing/"), 404)
    assert body["description"].startswith("The requested URL was not found on the server.")


def test_wrong_method_is_405_with_allow_and_the_error_shape(client):
    resp = client.simulate_post("/api/ping/")
    _assert_error_shape(resp, 405)
    assert "GET" in resp.headers["allow"]


def test_oversized_body_is_413_with_the_error_shape(client):
    resp = client.simulate_post("/api/ping/", headers={"Content-Length": str(33 * 1024 * 1024)})
    _assert_error_shape(resp, 413)


def test_scraping_bots_are_refused_before_routing(client):
    resp = client.simulate_get("/api/ping/", headers={"User-Agent": "Mozilla/5.0 (PetalBot)"})
    assert resp.status_code == 403
    assert resp.text == "unexpected user agent"


def test_metrics_count_requests_by_route_template_method_and_status(client):
    client.simulate_get("/api/ping/")
    with pytest.warns(Warning, match="Unknown REQUEST_METHOD"):
        client.simulate_request("PROPFIND", "/api/ping/")
    client.simulate_get("/api/no-such-thing/12345")
    text = client.simulate_get("/metrics").text
    assert "conbench_up 1.0" in text
    assert 'conbench_http_requests_total{method="GET",route="/api/ping/",status="200"}' in text
    assert 'method="OTHER",route="/api/ping/",status="405"' in text
    assert 'conbench_http_requests_total{method="GET",route="/api/*",status="404"}' in text
    assert "12345" not in text
    assert "conbench_http_request_duration_seconds_count{" in text
    assert "conbench_github_unknown_commits_total" in text


def test_metrics_lines_are_sorted_by_route_method_status(client):
    client.simulate_get("/metrics")
    client.simulate_get("/api/ping")
    client.simulate_post("/api/ping")
    lines = [
        line
        for line in client.simulate_get("/metrics").text.splitlines()
        if line.startswith("conbench_http_requests_total{")
    ]
    keys = [_labels(line) for line in lines]
    assert keys == sorted(keys)


def _labels(line):
    pairs = dict(re.findall(r'(\w+)="([^"]*)"', line))
    return tuple(pairs[k] for k in ("route", "method", "status"))


@pytest.mark.parametrize(
    ("path", "template", "label"),
    [
        ("/api/auth/login", "/api/auth/login", "/api/auth/*"),
        ("/docs/index.html", None, "/docs"),
        ("/openapi.yaml", "/openapi.yaml", "/openapi"),
        (
            "/api/benchmark-results/abc/",
            "/api/benchmark-results/{id}/",
            "/api/benchmark-results/{id}/",
        ),
        ("/api/whatever", None, "/api/*"),
        ("/runs/abc", None, "spa"),
    ],
)
def test_route_label_never_holds_a_raw_path(path, template, label):
    assert metrics.route_label(path, template) == label


def test_unexpected_methods_are_labelled_other():
    assert metrics.method_label("PROPFIND") == "OTHER"
    assert metrics.method_label("PATCH") == "PATCH"


@pytest.mark.parametrize("path", ["/api/ping/", "/metrics"])
def test_head_is_answered_like_get_without_a_body(client, path):
    resp = client.simulate_head(path)
    assert resp.status_code == 200
    assert resp.content == b""
    assert "HEAD" in client.simulate_post(path).headers["allow"]


def test_requests_total_is_the_duration_count_of_every_label_set(client):
    for path in ("/api/ping", "/api/ping/", "/api/ping", "/api/nope"):
        client.simulate_get(path)
    client.simulate_post("/api/ping")
    text = client.simulate_get("/metrics").text
    counted = dict(re.findall(r"^conbench_http_requests_total(\{.*\}) (\S+)$", text, re.M))
    timed = dict(
        re.findall(r"^conbench_http_request_duration_seconds_count(\{.*\}) (\S+)$", text, re.M)
    )
    assert counted == timed
    assert float(counted['{method="GET",route="/api/ping",status="200"}']) >= 2


def test_serve_uses_sync_workers_unless_threads_are_asked_for():
    from gunicorn.workers.sync import SyncWorker

    from conbench import server
    from conbench.worker import ConbenchSyncWorker

    assert server.gunicorn_options("127.0.0.1:0", 2, 1)["worker_class"] == (
        "conbench.worker.ConbenchSyncWorker"
    )
    assert issubclass(ConbenchSyncWorker, SyncWorker)
    assert server.gunicorn_options("127.0.0.1:0", 2, 4)["worker_class"] == "gthread"


def test_the_worker_heartbeat_is_written_at_most_once_a_second(monkeypatch):
    """gunicorn beats before every request; the arbiter only needs one within its timeout."""
    from types import SimpleNamespace

    from conbench import worker as worker_module

    worker = worker_module.ConbenchSyncWorker.__new__(worker_module.ConbenchSyncWorker)
    beats = []
    worker.tmp = SimpleNamespace(notify=lambda: beats.append(True))
    clock = iter([100.0, 100.4, 100.99, 101.0, 101.5, 160.0])
    monkeypatch.setattr(worker_module.time, "monotonic", lambda: next(clock))
    for _ in range(6):
        worker.notify()
    assert len(beats) == 3  # at 100.0, 101.0 and 160.0
