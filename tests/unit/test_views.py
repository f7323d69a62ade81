"""The read views (jobyard.views): pure functions on constructed jobs and rows, the same
for the CLI, the HTTP API and the web UI."""

from __future__ import annotations

import json

import pytest

from jobyard import views
from jobyard.events import Event
from jobyard.model import STATUSES, Job
from jobyard.store.workers import WorkerRow
from jobyard.types import StoredType

T0 = 1_700_000_000.0


def job(id_: int, status: str = "ready", **kw: object) -> Job:
    return Job(id=id_, type="t", status=status, created=T0 + id_, **kw)  # type: ignore[arg-type]


def test_a_job_summary_names_priority_and_percent() -> None:
    s = views.job_summary(job(3, "running", priority=-10, progress_completed=1, attempts=2))
    assert s == views.JobSummary(3, "t", "default", "running", "high", 1.0, 2, T0 + 3)
    assert views.job_summary(job(4, priority=7)).priority == "7"  # no name: the number
    assert views.job_summary(job(5, "completed", progress_completed=0)).percent == 100.0


def test_job_fields_are_json_with_iso_times() -> None:
    fields = views.job_fields(job(3, started=T0))
    json.dumps(fields)  # plain values only
    assert fields["id"] == 3 and fields["started"] == "2023-11-14T22:13:20.000+00:00"
    assert fields["progress"] == {"completed": 0, "total": 100, "percent": 0.0}


def test_a_log_entry_gets_an_iso_time() -> None:
    entry = {"time": T0, "run": None, "level": "info", "message": "hi", "data": None}
    assert views.log_entry(entry) == {**entry, "time": "2023-11-14T22:13:20.000+00:00"}


def test_not_applied_names_the_jobs_an_operation_passes_over() -> None:
    jobs = [job(1, "completed"), job(2, "failed"), job(3, "ready")]
    assert views.not_applied(jobs, "rerun") == [2, 3]
    assert views.not_applied(jobs, "remove") == [3]


def test_worker_views_judge_liveness_from_the_lease() -> None:
    now = 1000.0
    rows = [
        WorkerRow("w1", "h", 7, ["default"], 4, 0.0, now - 99.5, [5], "running", 30.0),
        WorkerRow("w2", "h", 8, ["q"], 2, 0.0, now - 5, [], "idle", None),  # no lease kept
        WorkerRow("w3", "h", 9, ["q"], 1, 0.0, now - 20, [7], "running", None),
    ]
    running = {"w1": [5], "w2": [9, 11]}
    w1, w2, w3 = views.worker_views(rows, running, now, lease=10.0)
    # older than its own lease: gone, whatever its last beat said; its jobs as the table has
    assert (w1.name, w1.alive, w1.status, w1.running, w1.lease) == ("w1", False, "gone", [5], 30.0)
    assert w1.heartbeat_age == 99.5
    # the reader's lease stands in for a worker that recorded none
    assert (w2.alive, w2.status, w2.running, w2.lease) == (True, "idle", [9, 11], 10.0)
    assert (w3.alive, w3.status, w3.running) == (False, "gone", [])
    assert list(w1.to_dict()) == [
        "name",
        "host",
        "pid",
        "queues",
        "concurrency",
        "status",
        "heartbeat_age",
        "lease",
        "alive",
        "running",
    ]  # the JSON key order


def test_type_rows_merge_stored_and_local_types_by_name() -> None:
    stored = {
        "b": StoredType("b", "script", False, {"schedule": "* * * * *", "kind": "x"}),
        "a": StoredType("a", "python", True, {"queue": "q"}),
    }
    rows = views.type_rows(stored, ["c", "a"])
    assert rows == [
        {"queue": "q", "name": "a", "kind": "python", "enabled": True},
        {"schedule": "* * * * *", "kind": "script", "name": "b", "enabled": False},
        {"name": "c", "kind": "python", "enabled": True},  # only this process has it
    ]


def test_event_and_schedule_views_are_json() -> None:
    e = Event(1, T0, "backup.done", {"ok": True}, 4, 1, [5, 6])
    assert views.event_view(e) == {
        "id": 1,
        "time": "2023-11-14T22:13:20.000+00:00",
        "name": "backup.done",
        "data": {"ok": True},
        "source_job": 4,
        "depth": 1,
        "jobs": [5, 6],
    }
    row = {"type": "t", "schedule": "@daily", "last": None, "next": T0}
    assert views.schedule_view(row) == {**row, "next": "2023-11-14T22:13:20.000+00:00"}


def test_jobset_progress_counts_every_status() -> None:
    p = views.jobset_progress([job(1, "completed"), job(2, "running"), job(3, "completed")])
    assert list(p.counts) == list(STATUSES)
    assert (p.counts["completed"], p.counts["running"], p.counts["failed"]) == (2, 1, 0)
    assert (p.total, p.finished, p.done, p.succeeded) == (3, 2, False, False)
    done = views.jobset_progress([job(1, "completed"), job(2, "failed")])
    assert (done.done, done.succeeded) == (True, False)
    assert views.jobset_progress([]) == views.JobsetProgress(dict.fromkeys(STATUSES, 0))


def test_a_page_is_the_newest_rows_newest_last_with_the_older_pages_cursor() -> None:
    newest_first = [job(i) for i in (9, 8, 7, 6)]  # limit + 1 read: older rows exist
    page = views.newest_last(newest_first, 3, lambda j: j.id)
    assert [j.id for j in page.rows] == [7, 8, 9] and page.before == 7
    last = views.newest_last(newest_first[:2], 3, lambda j: j.id)
    assert [j.id for j in last.rows] == [8, 9] and last.before is None
    assert views.newest_last([], 3, lambda j: j.id) == views.Page([], None)


@pytest.mark.parametrize(
    ("total", "limit", "offset", "window"),
    [
        (10, 3, 0, (7, 10, 3)),
        (10, 3, 3, (4, 7, 6)),
        (10, 3, 8, (0, 2, None)),
        (10, 20, 0, (0, 10, None)),
        (10, 3, 10, (0, 0, None)),
        (0, 5, 0, (0, 0, None)),
        (10, 3, 50, (0, 0, None)),
    ],
)
def test_the_tail_window_keeps_the_most_recent_rows(
    total: int, limit: int, offset: int, window: tuple[int, int, int | None]
) -> None:
    assert views.tail_window(total, limit, offset) == views.Window(*window)


def test_the_cli_listings_read_through_the_views_only() -> None:
    from pathlib import Path

    import jobyard.cli

    cli = Path(jobyard.cli.__file__).parent
    for name in ("jobs.py", "events.py", "collections.py", "listing.py"):
        text = (cli / name).read_text()
        for raw in (".store", "execute(", "decode_json", "list_workers", "get_log"):
            assert raw not in text, f"cli/{name} reads {raw!r} itself: use jobyard.views"
