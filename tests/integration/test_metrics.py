"""/metrics over real HTTP: Prometheus text that parses, numbers that move with the work,
READ roles unless made public."""

from __future__ import annotations

import time

import httpx
from prometheus_client.parser import text_string_to_metric_families
from tests.apiserver import serving
from tests.integration.test_api_roles import RoleAuth

from jobyard import Yard, lifecycle
from jobyard.api.app import create_app
from jobyard.api.auth import NoAuth


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_parse_and_move(yard: Yard) -> None:
    yard.migrate()
    yard.job(name="t")(lambda job, **d: None)
    yard.sync_types()
    with serving(create_app(yard, NoAuth())) as base:
        first = samples(httpx.get(f"{base}/metrics").text)
        assert first[("jobyard_jobs", (("status", "ready"),))] == 0
        h = yard.enqueue("t")
        now = time.time()
        (job,) = yard.store.claim("w", "r", ["default"], ["t"], 1, now, now + 30)
        lifecycle.complete(yard.store, [(job, None)], time.time() + 0.2)
        time.sleep(2.1)  # past the status counts' cache
        after = samples(httpx.get(f"{base}/metrics").text)
    assert after[("jobyard_jobs", (("status", "completed"),))] == 1
    assert after[("jobyard_job_events_total", (("event", "job.created"),))] == 1
    assert after[("jobyard_job_events_total", (("event", "job.completed"),))] == 1
    assert after[("jobyard_run_duration_seconds_count", ())] == 1
    assert after[("jobyard_run_duration_seconds_bucket", (("le", "0.01"),))] == 0
    assert after[("jobyard_workers_alive", ())] == 0
    assert after[("jobyard_events_lag", ())] == 0
    assert h.id == job.id


def test_metrics_need_a_reader_unless_public(yard: Yard) -> None:
    yard.migrate()
    with serving(create_app(yard, RoleAuth())) as base:
        assert httpx.get(f"{base}/metrics").status_code == 401
        ok = httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer viewer"})
        assert ok.status_code == 200 and "jobyard_jobs" in ok.text
        assert (
            httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer worker"}).status_code
            == 403
        )
    yard.config.raw["web"] = {"metrics_public": True}
    with serving(create_app(yard, RoleAuth())) as base:
        assert httpx.get(f"{base}/metrics").status_code == 200


def test_metrics_per_queue_oldest_ready_and_claim_latency(yard: Yard) -> None:
    yard.migrate()
    yard.job(name="q")(lambda job, **d: None)
    yard.sync_types()
    with serving(create_app(yard, NoAuth())) as base:
        httpx.get(f"{base}/metrics")  # the counters start here
        yard.enqueue("q", queue="mail")
        yard.enqueue("q", queue="mail")
        yard.enqueue("q", queue="bulk")
        time.sleep(1.0)  # the mail jobs wait a second before they are claimed
        now = time.time()
        (job,) = yard.store.claim("w", "r", ["mail"], ["q"], 1, now, now + 30)
        time.sleep(2.1)  # past the cached counts
        got = samples(httpx.get(f"{base}/metrics").text)
    assert got[("jobyard_queue_jobs", (("queue", "mail"), ("status", "ready")))] == 1
    assert got[("jobyard_queue_jobs", (("queue", "mail"), ("status", "running")))] == 1
    assert got[("jobyard_queue_jobs", (("queue", "bulk"), ("status", "ready")))] == 1
    assert 3.0 <= got[("jobyard_oldest_ready_seconds", (("queue", "bulk"),))] < 30
    assert got[("jobyard_claim_latency_seconds_count", ())] == 1
    assert got[("jobyard_claim_latency_seconds_bucket", (("le", "0.5"),))] == 0
    assert got[("jobyard_claim_latency_seconds_bucket", (("le", "5.0"),))] == 1
    assert 1.0 <= got[("jobyard_claim_latency_seconds_sum", ())] < 10
    assert job.queue == "mail"
