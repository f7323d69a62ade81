"""Pages of jobs: the dashboard, the job list with bulk actions, a job's page and its live
parts, and the actions a job's status allows."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from starlette.responses import RedirectResponse, Response

from jobyard import model, views
from jobyard.api.auth import MANAGE
from jobyard.api.endpoint import Call
from jobyard.errors import InvalidInput, NotFound
from jobyard.i18n import N_, _
from jobyard.spec import parse_int_id
from jobyard.web.counts import StaleCounts
from jobyard.web.page import Pages, View, form_value
from jobyard.web.throughput import Throughput
from jobyard.yard import Matching

PAGES = Pages()

ACTIONS = ("cancel", "pause", "resume", "restart", "rerun", "remove")
BULK_ACTIONS = ("cancel", "pause", "resume", "restart", "remove")
PAGE_SIZE = 50


def _filters(call: Call) -> dict[str, list[str] | None]:
    status = call.query_list("status")
    if status:
        unknown = [s for s in status if s not in model.STATUSES]
        if unknown:
            raise InvalidInput(
                _(
                    "unknown status {unknown!r}; statuses: {STATUSES}",
                    unknown=unknown[0],
                    STATUSES=", ".join(model.STATUSES),
                )
            )
    return {"status": status, "type": call.query_list("type"), "queue": call.query_list("queue")}


def _counts(call: Call) -> StaleCounts[dict[str, int]]:
    extra = call.state.extra
    if "web.counts" not in extra:
        yard = call.state.yard
        extra["web.counts"] = StaleCounts(lambda: {s: yard.count(status=s) for s in model.STATUSES})
        extra["web.queues"] = StaleCounts(lambda: dict(views.queues(yard)))
    counts: StaleCounts[dict[str, int]] = extra["web.counts"]
    return counts


def _throughput(call: Call) -> Throughput:
    extra = call.state.extra
    if "web.throughput" not in extra:
        extra["web.throughput"] = Throughput(call.state.yard)
    chart: Throughput = extra["web.throughput"]
    return chart


@PAGES.get("/", N_("Dashboard"))
def dashboard(call: Call) -> View:
    yard = call.state.yard
    counts, counted = _counts(call).get()
    by_queue, _unused = call.state.extra["web.queues"].get()
    now = time.time()
    running = views.recent_jobs(yard, status=[model.RUNNING], limit=20).rows
    failed = views.recent_jobs(yard, status=[model.FAILED], limit=10).rows
    workers = views.workers(yard, now)
    bars = _throughput(call).bars()
    return View(
        "dashboard.html",
        {
            "counts": counts,
            "counted": counted,
            "queues": sorted(by_queue.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:20],
            "total": sum(counts.values()),
            "running": running[::-1],
            "failed": failed[::-1],
            "workers": workers,
            "alive": sum(1 for w in workers if w.alive),
            "bars": bars,
            "peak": max([b.completed + b.failed for b in bars] + [1]),
            "hour_done": sum(b.completed for b in bars),
            "hour_failed": sum(b.failed for b in bars),
        },
    )


@PAGES.get("/jobs", N_("Jobs"))
def jobs(call: Call) -> View | Response:
    q = (call.query("q") or "").strip().lstrip("#")
    if q:
        if q.isdigit() and len(q) <= 19:
            return RedirectResponse(f"/jobs/{int(q)}", 303)
        return RedirectResponse(f"/jobs?type={quote(q)}", 303)
    f = _filters(call)
    before = call.query_int("before", None, 1)
    jobset = call.query_int("jobset", None, 1)
    oldest = call.query("sort") == "oldest"
    worker = (call.query("worker") or "").strip() or None
    if oldest:
        rows, nxt = views.oldest_jobs(
            call.state.yard,
            f["status"],
            f["type"],
            f["queue"],
            PAGE_SIZE,
            call.query_int("after", None, 0),
            jobset,
        )
        query = {k: ",".join(v) for k, v in f.items() if v}
        if jobset is not None:
            query["jobset"] = str(jobset)
        if worker is not None:
            query["worker"] = worker
        return View(
            "jobs.html",
            {
                "jobs": rows,
                "before": None,
                "after": nxt,
                "filters": query,
                "statuses": model.STATUSES,
                "bulk_actions": BULK_ACTIONS,
                "sort": "oldest",
            },
        )
    page = views.recent_jobs(
        call.state.yard,
        f["status"],
        f["type"],
        f["queue"],
        limit=PAGE_SIZE,
        before=before,
        jobset=jobset,
        worker=worker,
    )
    query = {k: ",".join(v) for k, v in f.items() if v}
    if jobset is not None:
        query["jobset"] = str(jobset)
    if worker is not None:
        query["worker"] = worker
    return View(
        "jobs.html",
        {
            "jobs": page.rows[::-1],  # newest first on a page
            "before": page.before,
            "filters": query,
            "statuses": model.STATUSES,
            "bulk_actions": BULK_ACTIONS,
            "after": None,
            "sort": "newest",
        },
    )


def _job_context(call: Call, job_id: int) -> dict[str, Any]:
    yard = call.state.yard
    try:
        job = yard.get(job_id).job
    except NotFound:
        raise NotFound(
            _("no job {job_id}: it was never created or has been removed", job_id=job_id)
        ) from None
    allowed = [a for a in ACTIONS if job.status in model.ALLOWED_FROM[a]]
    eta = None
    if job.status == model.RUNNING and job.started and 0 < job.percent < 100:
        spent = time.time() - job.started
        eta = spent * (100 - job.percent) / job.percent
    from jobyard.views.semaphores import waiting_on

    return {
        "job": job,
        "allowed": allowed,
        "eta": eta,
        "finished": job.status in model.FINISHED,
        "waiting": waiting_on(yard, job),  # the semaphore or cap a ready job waits for
    }


@PAGES.get("/jobs/{id}", N_("Job"))
def job_page(call: Call) -> View:
    job_id = call.path_int("id")
    # The event cursor before the job is read: the live parts go on from here, so a
    # change between this read and the stream's start is not missed (a fast job).
    cursor = views.latest_transition(call.state.yard)
    ctx = _job_context(call, job_id)
    ctx.update(_log_tail(call, job_id))
    ctx["cursor"] = cursor
    return View("job.html", ctx)


@PAGES.get("/jobs/{id}/part/status", N_("Job"))
def job_status_part(call: Call) -> View:
    return View("job_status.html", _job_context(call, call.path_int("id")))


@PAGES.get("/jobs/{id}/part/log", N_("Job"))
def job_log_part(call: Call) -> View:
    job_id = call.path_int("id")
    return View("job_log.html", _log_tail(call, job_id))


LOG_TAIL = 500


def _log_tail(call: Call, job_id: int) -> dict[str, Any]:
    entries = views.job_log(call.state.yard, job_id)
    finished = call.state.yard.get(job_id).job.status in model.FINISHED
    return {
        "log": entries[-LOG_TAIL:],
        "skipped": max(len(entries) - LOG_TAIL, 0),
        "finished": finished,
    }


@PAGES.post("/jobs/{id}/{action}", N_("Job"), roles=MANAGE)
def job_action(call: Call) -> Response:
    job_id = call.path_int("id")
    action = str(call.path["action"])
    if action not in ACTIONS:
        raise NotFound(
            _("no action {action!r}; actions: {ACTIONS}", action=action, ACTIONS=", ".join(ACTIONS))
        )
    yard = call.state.yard
    target = f"/jobs/{job_id}"
    if action == "rerun":
        target = f"/jobs/{yard.rerun(job_id).id}"
    else:
        getattr(yard, action)(job_id)
        if action == "remove":
            target = "/jobs"
    return RedirectResponse(target, 303)


@PAGES.post("/jobs/bulk", N_("Jobs"), roles=MANAGE)
def jobs_bulk(call: Call) -> Response:
    action = form_value(call, "action")
    if action not in BULK_ACTIONS:
        raise InvalidInput(
            _("choose an action: {BULK_ACTIONS}", BULK_ACTIONS=", ".join(BULK_ACTIONS))
        )
    yard = call.state.yard
    form: dict[str, list[str]] = call.body or {}
    if form_value(call, "scope") == "filter":
        status = [s for s in form_value(call, "status").split(",") if s] or None
        type_ = [s for s in form_value(call, "type").split(",") if s] or None
        queue = [s for s in form_value(call, "queue").split(",") if s] or None
        jobset = form_value(call, "jobset").strip()
        worker = form_value(call, "worker").strip() or None
        if jobset or worker:  # matching() has neither filter: passed over when gone
            js = parse_int_id(jobset, "jobset") if jobset else None
            ids: list[int] = Matching(views.matching_ids(yard, status, type_, queue, js, worker))
        else:
            ids = yard.matching(status=status, type=type_, queue=queue)
    else:
        try:
            ids = sorted({int(v) for v in form.get("ids", []) if 0 < len(v) <= 19})
        except ValueError:
            raise InvalidInput(_("the selected job ids are not numbers")) from None
        if not ids:
            raise InvalidInput(_("select some jobs first, or apply to every job of the filter"))
    done = getattr(yard, action)(ids)
    back = form_value(call, "back") or "/jobs"
    if not back.startswith("/") or back.startswith("//"):
        back = "/jobs"
    sep = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{sep}done={action}:{len(done)}", 303)
