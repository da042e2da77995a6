"""Prometheus metrics, summed over every gunicorn worker by prometheus-client's multiprocess mode.

`conbench serve` sets PROMETHEUS_MULTIPROC_DIR before this module is first imported (the client
picks its storage at import time); without it, as in tests that run the app in-process, the
metrics live in this process only and are read from the default registry.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator

import falcon
import prometheus_client
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Summary,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

prometheus_client.disable_created_metrics()
# The client decided at import time from this same variable; mirror its decision.
MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR" in os.environ

HTTP_REQUESTS = Counter(
    "conbench_http_requests",
    "HTTP requests served, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_DURATION = Summary(
    "conbench_http_request_duration_seconds",
    "Time spent serving HTTP requests, by method, route template and status code.",
    ["method", "route", "status"],
)
GITHUB_UNKNOWN_COMMITS = Counter(
    "conbench_github_unknown_commits",
    "GitHub commit enrichments during ingestion that degraded to an unknown commit row.",
)
RESULTS_INGESTED = Counter(
    "conbench_results_ingested",
    "Benchmark results stored, by API surface (legacy or modern).",
    ["surface"],
)

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_SORT_LABELS = ("route", "method", "status")


def method_label(method: str) -> str:
    """The method as a label: the seven usual methods, anything else `OTHER`."""
    return method if method in KNOWN_METHODS else "OTHER"


def route_label(path: str, template: str | None) -> str:
    """The route as a label: the matched template, never a raw path (ids stay out of labels)."""
    if path.startswith("/api/auth/"):
        return "/api/auth/*"
    if path.startswith("/docs"):
        return "/docs"
    if path.startswith("/openapi"):
        return "/openapi"
    if template:
        return template
    if path == "/api" or path.startswith("/api/"):
        return "/api/*"
    return "spa"


class MetricsMiddleware:
    """Counts and times every request, errors included."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.perf_counter()

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        started = getattr(req.context, "started", None)
        if started is None:
            return
        labels = (
            method_label(req.method),
            route_label(req.path, req.uri_template if resource is not None else None),
            str(resp.status_code),
        )
        HTTP_REQUESTS.labels(*labels).inc()
        HTTP_DURATION.labels(*labels).observe(time.perf_counter() - started)


class _ExpositionView:
    """What /metrics shows: `conbench_up`, then every conbench_ family with sorted samples."""

    def __init__(self, source: Iterable[Metric]) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("conbench_up", "1 while the server is responding.", value=1)
        for family in sorted(self.source, key=lambda f: f.name):
            if not family.name.startswith("conbench_"):
                continue
            family.samples.sort(
                key=lambda s: (*(s.labels.get(k, "") for k in _SORT_LABELS), s.name)
            )
            yield family


def render() -> bytes:
    """The Prometheus text exposition for one scrape."""
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        families = list(registry.collect())
    else:
        families = list(REGISTRY.collect())
    view = CollectorRegistry(auto_describe=False)
    view.register(_ExpositionView(families))  # type: ignore[arg-type]
    return generate_latest(view)


def mark_process_dead(pid: int) -> None:
    """Forget a dead worker's live gauges (gunicorn child_exit hook)."""
    if MULTIPROCESS:
        multiprocess.mark_process_dead(pid)
