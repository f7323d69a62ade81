"""``GET /metrics``: Prometheus text, from prometheus-client with a registry of this app's
own (no global state). Gauges are read at scrape time through the shared views, with the
counts cached a couple of seconds; the counters and the run-duration histogram advance by
cursor over the event log, so they count the work of every process on the database, not
just this one's. READ roles, or anyone with ``[web] metrics_public = true``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from starlette.responses import Response

from jobyard import model, views
from jobyard.api.auth import READ
from jobyard.api.endpoint import Call, Endpoints
from jobyard.yard import Yard

ENDPOINTS = Endpoints("ops")

BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 60.0, 300.0, 1800.0, float("inf"))
COUNTED = (
    "job.created",
    "job.started",
    "job.completed",
    "job.failed",
    "job.retrying",
    "job.cancelled",
)
MAX_PAGES = 20
PAGE = 5000


class JobsCollector(Collector):
    def __init__(self, yard: Yard) -> None:
        self.yard = yard
        self._lock = threading.Lock()
        self._cursor: int | None = None
        self._counts = dict.fromkeys(COUNTED, 0)
        self._started: dict[int, float] = {}
        self._buckets = [0] * len(BUCKETS)
        self._sum = 0.0
        self._status: tuple[float, dict[str, int]] = (0.0, {})
        self.latest = 0

    def _advance(self) -> None:
        if self._cursor is None:
            self._cursor = views.latest_transition(self.yard)  # counters start at zero now
        for _ in range(MAX_PAGES):
            events, self._cursor = views.transitions_after(self.yard, self._cursor, PAGE)
            for e in events:
                if e.name in self._counts:
                    self._counts[e.name] += 1
                if e.name == "job.started":
                    if len(self._started) > 100_000:
                        self._started.clear()
                    self._started[e.job_id] = e.time
                elif e.name in ("job.completed", "job.failed", "job.retrying"):
                    began = self._started.pop(e.job_id, None)
                    if began is not None:
                        took = max(e.time - began, 0.0)
                        self._sum += took
                        for i, bound in enumerate(BUCKETS):
                            if took <= bound:
                                self._buckets[i] += 1
            if len(events) < PAGE:
                break
        self.latest = views.latest_transition(self.yard)

    def _statuses(self) -> dict[str, int]:
        at, counts = self._status
        if time.time() - at > 2.0:
            counts = {s: self.yard.count(status=s) for s in model.STATUSES}
            self._status = (time.time(), counts)
        return counts

    def collect(self) -> Iterator[Any]:
        with self._lock:
            self._advance()
            jobs = GaugeMetricFamily("jobyard_jobs", "Jobs by status", labels=["status"])
            for status, n in self._statuses().items():
                jobs.add_metric([status], n)
            yield jobs
            events = CounterMetricFamily(
                "jobyard_job_events",
                "Job transitions seen since this server started",
                labels=["event"],
            )
            for name, n in self._counts.items():
                events.add_metric([name], n)
            yield events
            cumulative = []
            for bound, n in zip(BUCKETS, self._buckets, strict=True):
                cumulative.append(("+Inf" if bound == float("inf") else str(bound), n))
            hist = HistogramMetricFamily(
                "jobyard_run_duration_seconds", "Run time of finished runs (start to end)"
            )
            hist.add_metric([], cumulative, self._sum)
            yield hist
            alive = sum(1 for w in views.workers(self.yard, time.time()) if w.alive)
            yield GaugeMetricFamily(
                "jobyard_workers_alive", "Workers with a fresh heartbeat", value=alive
            )
            lag = GaugeMetricFamily("jobyard_events_lag", "Events written but not yet counted")
            lag.add_metric([], max(self.latest - (self._cursor or 0), 0))
            yield lag


def _registry(call: Call) -> CollectorRegistry:
    extra = call.state.extra
    if "metrics" not in extra:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(JobsCollector(call.state.yard))
        extra["metrics"] = registry
    found: CollectorRegistry = extra["metrics"]
    return found


def metrics_public(yard: Yard) -> bool:
    web = yard.config.raw.get("web", {})
    return bool(isinstance(web, dict) and web.get("metrics_public", False))


@ENDPOINTS.get("/metrics", roles=READ, media="text/plain")
def metrics(call: Call) -> Response:
    """Prometheus metrics (jobs by status, transitions, run durations, workers, lag);
    public with ``[web] metrics_public = true`` (jobyard.api.app)."""
    return Response(generate_latest(_registry(call)), media_type="text/plain; version=0.0.4")
