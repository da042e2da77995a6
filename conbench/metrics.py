"""Prometheus metrics, summed over every gunicorn worker by prometheus-client's multiprocess mode.

`conbench serve` sets PROMETHEUS_MULTIPROC_DIR before this module is first imported (the client
picks its storage at import time); without it, as in tests that run the app in-process, the
metrics live in this process only and are read from the default registry.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from typing import Any

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


class DerivedCounter:
    """A counter /metrics computes from another metric's samples instead of storing it.

    `conbench_http_requests_total` is the duration summary's `_count` under another name: deriving
    it at scrape time spares every request a second counter write (a lock and an mmap update).
    `_name` and `_type` mirror prometheus-client's metrics so the metric is found like the others.
    """

    _type = "counter"

    def __init__(self, name: str, documentation: str) -> None:
        self._name = name
        self._documentation = documentation


HTTP_REQUESTS = DerivedCounter(
    "conbench_http_requests",
    "HTTP requests served, by method, route template and status code.",
)
HTTP_DURATION_NAME = "conbench_http_request_duration_seconds"
HTTP_DURATION = Summary(
    HTTP_DURATION_NAME,
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

    def __init__(self) -> None:
        # The summary's child per label set, as `labels()` would find it, minus its validation
        # and lock on every request. Bounded like the labels: methods x route templates x statuses.
        self._children: dict[tuple[str, str, str], Any] = {}

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
        child = self._children.get(labels)
        if child is None:
            child = self._children[labels] = HTTP_DURATION.labels(*labels)
        child.observe(time.perf_counter() - started)


class _ExpositionView:
    """What /metrics shows: `conbench_up`, then every conbench_ family with sorted samples."""

    def __init__(self, source: Iterable[Metric]) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("conbench_up", "1 while the server is responding.", value=1)
        families = [f for f in self.source if f.name.startswith("conbench_")]
        families += [_requests_counter(f) for f in families if f.name == HTTP_DURATION_NAME]
        for family in sorted(families, key=lambda f: f.name):
            family.samples.sort(
                key=lambda s: (*(s.labels.get(k, "") for k in _SORT_LABELS), s.name)
            )
            yield family


def _requests_counter(duration: Metric) -> Metric:
    """conbench_http_requests_total: the count of every label set of the duration summary."""
    family = Metric(HTTP_REQUESTS._name, HTTP_REQUESTS._documentation, HTTP_REQUESTS._type)
    for sample in duration.samples:
        if sample.name == HTTP_DURATION_NAME + "_count":
            family.add_sample(HTTP_REQUESTS._name + "_total", dict(sample.labels), sample.value)
    return family


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
