"""``GET /metrics``: Prometheus text, from prometheus-client with a registry of this app's
own (no global state). Gauges are read at scrape time through the shared views, with the
counts cached a couple of seconds; the counters and the run-duration histogram advance by
cursor over the event log, so they count the work of every process on the database, not
just this one's. READ roles, or anyone with ``[web] metrics_public = true``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from starlette.responses import Response

from jobyard import model, views
from jobyard.api.auth import READ
from jobyard.api.endpoint import Call, Endpoints
from jobyard.store.events import JobEvent
from jobyard.yard import Yard

ENDPOINTS = Endpoints("ops")
T = TypeVar("T")

BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 60.0, 300.0, 1800.0, float("inf"))
WAIT_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 300.0, float("inf"))
COUNTED = (
    "job.created",
    "job.started",
    "job.completed",
    "job.failed",
    "job.retrying",
    "job.cancelled",
    "job.interrupted",
    "jobset.finished",
)
MAX_PAGES = 20
PAGE = 5000
CACHE = 2.0  # seconds the scrape-time counts are reused (several scrapers, one read)


class Histogram:
    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.bounds = buckets
        self.counts = [0] * len(buckets)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.sum += value
        for i, bound in enumerate(self.bounds):
            if value <= bound:
                self.counts[i] += 1

    def family(self, name: str, doc: str) -> HistogramMetricFamily:
        cumulative = [
            ("+Inf" if bound == float("inf") else str(bound), n)
            for bound, n in zip(self.bounds, self.counts, strict=True)
        ]
        hist = HistogramMetricFamily(name, doc)
        hist.add_metric([], cumulative, self.sum)
        return hist


class JobsCollector(Collector):
    def __init__(self, yard: Yard) -> None:
        self.yard = yard
        self._lock = threading.Lock()
        self._cursor: int | None = None
        self._counts = dict.fromkeys(COUNTED, 0)
        self._started: dict[int, float] = {}
        self.run = Histogram(BUCKETS)
        self.wait = Histogram(WAIT_BUCKETS)
        self._cached: dict[str, tuple[float, Any]] = {}
        self.latest = 0

    def _advance(self) -> None:
        if self._cursor is None:
            self._cursor = views.latest_transition(self.yard)  # counters start at zero now
        for _ in range(MAX_PAGES):
            events, self._cursor = views.transitions_after(self.yard, self._cursor, PAGE)
            started = []
            for e in events:
                if e.name in self._counts:
                    self._counts[e.name] += 1
                if e.name == "job.started":
                    if len(self._started) > 100_000:
                        self._started.clear()
                    self._started[e.job_id] = e.time
                    started.append(e)
                elif e.name in ("job.completed", "job.failed", "job.retrying"):
                    began = self._started.pop(e.job_id, None)
                    if began is not None:
                        self.run.observe(max(e.time - began, 0.0))
            self._waited(started)
            if len(events) < PAGE:
                break
        self.latest = views.latest_transition(self.yard)

    def _waited(self, started: list[JobEvent]) -> None:
        """Claim latency: from when each started job could first run (enqueued, or due
        after its delay or retry wait) to its start; one read per page of events."""
        if not started:
            return
        jobs = {j.id: j for j in views.jobs_by_id(self.yard, [e.job_id for e in started])}
        for e in started:
            job = jobs.get(e.job_id)
            if job is not None:
                self.wait.observe(max(e.time - max(job.created, job.after or 0.0), 0.0))

    def _cache(self, key: str, read: Callable[[], T]) -> T:
        at, value = self._cached.get(key, (0.0, None))
        if time.monotonic() - at > CACHE or value is None:
            value = read()
            self._cached[key] = (time.monotonic(), value)
        found: T = value
        return found

    def collect(self) -> Iterator[Any]:
        with self._lock:
            self._advance()
            now = time.time()
            jobs = GaugeMetricFamily("jobyard_jobs", "Jobs by status", labels=["status"])
            counts = self._cache(
                "status", lambda: {s: self.yard.count(status=s) for s in model.STATUSES}
            )
            for status, n in counts.items():
                jobs.add_metric([status], n)
            yield jobs
            queued = GaugeMetricFamily(
                "jobyard_queue_jobs",
                "Ready, running and waiting jobs per queue",
                labels=["queue", "status"],
            )
            for queue, by_status in self._cache("queues", lambda: views.queues(self.yard)):
                for status, n in sorted(by_status.items()):
                    queued.add_metric([queue, status], n)
            yield queued
            oldest = GaugeMetricFamily(
                "jobyard_oldest_ready_seconds",
                "Age of each queue's longest-waiting ready job",
                labels=["queue"],
            )
            for queue, since in sorted(
                self._cache("oldest", lambda: views.oldest_ready(self.yard)).items()
            ):
                oldest.add_metric([queue], max(now - since, 0.0))
            yield oldest
            events = CounterMetricFamily(
                "jobyard_job_events",
                "Job events seen since this server started (job.created: enqueued, "
                "job.started: claimed, job.completed ...)",
                labels=["event"],
            )
            for name, n in self._counts.items():
                events.add_metric([name], n)
            yield events
            yield self.run.family(
                "jobyard_run_duration_seconds", "Run time of finished runs (start to end)"
            )
            yield self.wait.family(
                "jobyard_claim_latency_seconds",
                "From when a job could run (enqueued or due) to its start by a worker",
            )
            alive = sum(1 for w in views.workers(self.yard, now) if w.alive)
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
    """Prometheus metrics (jobs by status and queue, oldest ready age, events, run
    durations, claim latency, workers, lag);
    public with ``[web] metrics_public = true`` (jobyard.api.app)."""
    return Response(generate_latest(_registry(call)), media_type="text/plain; version=0.0.4")
