"""``HttpPort``: the worker port over the HTTP API (``jobyard worker --server URL``).

Every verb is one HTTP call to ``/api/v1/work/*`` with the worker's Bearer token; the
server runs the local policy (jobyard.api.work). A refused or failed call raises what the
local port would (LeaseLost on a run that is no longer ours, InvalidInput...). While the
server cannot be reached (a restart, a network cut) each call retries with backoff for
``retry_for`` seconds and then raises DatabaseError, which the worker treats as it treats
a database outage: it keeps its running jobs, holds their outcomes and records them once
the server answers again. Idle, it waits on the server's own wake-ups (a long poll of
``/api/v1/work/wait``), so a new job starts within milliseconds, not a poll interval.
This process never opens the database: the Yard's store is
replaced by :class:`NoStore`, which refuses loudly.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

import httpx

from jobyard.errors import (
    ConfigError,
    DatabaseError,
    InvalidInput,
    JobyardError,
    LeaseLost,
    NotFound,
)
from jobyard.i18n import _
from jobyard.store.core import Waiter
from jobyard.worker import wire
from jobyard.worker.port import ClaimRequest, WorkerInfo, WorkerStatus

if TYPE_CHECKING:
    from jobyard.model import Job
    from jobyard.store.events import Event
    from jobyard.store.workers import StoredType
    from jobyard.worker.execute import Outcome

RETRY_STATUSES = frozenset({502, 503, 504})


class NoStore:
    """Stands in for the store of a remote worker's Yard: any use is a bug, said loudly."""

    def __init__(self, server: str) -> None:
        self._server = server

    def __getattr__(self, name: str) -> Any:
        raise ConfigError(
            _(
                "this worker talks to {server} and never opens the database (something asked the "
                "store for {name!r})",
                server=self._server,
                name=name,
            )
        )


class LongPollWaiter(Waiter):
    """Waits on the server (``POST /api/v1/work/wait``): the server answers as soon as its
    store says work may be available for these queues, or after ``timeout``. While the
    server cannot be reached it just waits out the timeout (the claim loop polls anyway)."""

    def __init__(self, port: HttpPort, queues: Sequence[str]) -> None:
        self.port = port
        self.queues = list(queues)
        self._closed = threading.Event()

    def wait(self, timeout: float) -> bool:
        if self._closed.is_set():
            return False
        timeout = min(max(timeout, 0.0), 30.0)
        t0 = time.monotonic()
        try:
            r = self.port._client().post(
                "/api/v1/work/wait",
                json={"queues": self.queues, "timeout": timeout},
                timeout=timeout + self.port.timeout,
            )
            if r.status_code == 200:
                return bool(r.json().get("woke"))
        except (httpx.HTTPError, ValueError):
            pass
        self._closed.wait(max(timeout - (time.monotonic() - t0), 0.0))
        return False

    def close(self) -> None:
        self._closed.set()


class HttpPort:
    def __init__(
        self,
        server: str,
        token: str | None,
        python_types: Callable[[], Sequence[StoredType]] = list,
        timeout: float = 30.0,
        retry_for: float = 60.0,
        poll: float = 0.5,
    ) -> None:
        if not server.startswith(("http://", "https://")):
            raise InvalidInput(
                _("--server must be an http(s) URL, got {server!r}", server=server[:80])
            )
        self.server = server.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._python_types = python_types
        self.timeout = timeout
        self.retry_for = retry_for
        self.poll = poll
        self._local = threading.local()

    def __repr__(self) -> str:  # never the token
        return f"<HttpPort {self.server}>"

    def _client(self) -> httpx.Client:
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(base_url=self.server, headers=self._headers, timeout=self.timeout)
            self._local.client = client
        return client

    def _call(self, path: str, body: Any = None, method: str = "POST") -> Any:
        """One verb; retried while the server cannot be reached. A retried body says
        ``"retry": true``: the first try may have been done, its answer lost (a claim
        then gives back the jobs it leased under the same run id instead of more)."""
        deadline = time.monotonic() + self.retry_for
        delay = 0.2
        tries = 0
        while True:
            tries += 1
            if tries == 2 and isinstance(body, dict):
                body = {**body, "retry": True}
            try:
                r = self._client().request(method, "/api/v1/work/" + path, json=body)
            except httpx.TransportError as exc:
                if time.monotonic() > deadline:
                    raise DatabaseError(
                        _("server {server} unreachable: {exc}", server=self.server, exc=exc)
                    ) from None
            else:
                if r.status_code not in RETRY_STATUSES:
                    return _result(r)
                if time.monotonic() > deadline:
                    raise DatabaseError(
                        _(
                            "server {server} answers {status_code}",
                            server=self.server,
                            status_code=r.status_code,
                        )
                    )
            time.sleep(delay)
            delay = min(delay * 2, 5.0)

    # -- the worker ------------------------------------------------------------------------

    def register(self, info: WorkerInfo) -> None:
        body = {**asdict(info), "queues": list(info.queues)}
        body["types"] = wire.types_out({t.name: t for t in self._python_types()})
        self._call("register", body)

    def unregister(self, name: str) -> None:
        self._call("unregister", {"name": name})

    def beat(self, run_ids: Sequence[str], lease: float, status: WorkerStatus) -> set[str]:
        body = {
            "runs": list(run_ids),
            "lease": lease,
            "status": {
                "name": status.name,
                "status": status.status,
                "running": list(status.running),
            },
        }
        return set(self._call("beat", body)["alive"])

    def housekeeping(self, now: float) -> None:
        return None  # the server rescues and promotes

    def types(self) -> Mapping[str, StoredType]:
        return wire.types_in(self._call("types", method="GET")["types"])

    def waiter(self, queues: Sequence[str]) -> Waiter:
        return LongPollWaiter(self, queues)

    def close(self) -> None:
        client = getattr(self._local, "client", None)
        if client is not None:
            client.close()
            self._local.client = None

    # -- jobs ------------------------------------------------------------------------------

    def claim(self, request: ClaimRequest) -> list[Job]:
        body = wire.claim_out(_with_run(request))
        return [wire.job_in(j) for j in self._call("claim", body)["jobs"]]

    def record(
        self, outcomes: Sequence[tuple[Job, Outcome]], claim_next: ClaimRequest | None = None
    ) -> list[Job]:
        body: dict[str, Any] = {
            "outcomes": [
                {"ref": wire.ref_out(j), "outcome": wire.outcome_out(o)} for j, o in outcomes
            ],
            "claim_next": wire.claim_out(_with_run(claim_next)) if claim_next else None,
        }
        return [wire.job_in(j) for j in self._call("record", body)["jobs"]]

    def next_due(self) -> float | None:
        at = self._call("next-due", {})["at"]
        return None if at is None else float(at)

    def hand_back(self, jobs: Sequence[Job], reason: str) -> list[int]:
        body = {"jobs": [wire.ref_out(j) for j in jobs], "reason": reason}
        return [int(i) for i in self._call("hand-back", body)["ids"]]

    def get_job(self, job_id: int) -> Job | None:
        found = self._call("job", {"id": job_id})["job"]
        return None if found is None else wire.job_in(found)

    def cancel(self, job_id: int) -> None:
        self._call("cancel", {"id": job_id})

    # -- a running job ---------------------------------------------------------------------

    def log(
        self,
        job_id: int,
        run_id: str | None,
        entries: Sequence[Mapping[str, Any]],
        lease: float,
        guarded: bool = True,
    ) -> None:
        body = {
            "run": run_id,
            "entries": [dict(e) for e in entries],
            "lease": lease,
            "guarded": guarded,
        }
        self._call(f"{job_id}/log", body)

    def progress(
        self, job_id: int, run_id: str | None, completed: float, total: float, lease: float
    ) -> None:
        body = {"run": run_id, "completed": completed, "total": total, "lease": lease}
        self._call(f"{job_id}/progress", body)

    def touch(self, job_id: int, run_id: str | None, lease: float) -> None:
        self._call(f"{job_id}/heartbeat", {"run": run_id, "lease": lease})

    def emit(self, event: str, data: Any, source_job: int | None, depth: int) -> Event:
        body = {"event": event, "data": data, "source_job": source_job, "depth": depth}
        return wire.event_in(self._call("emit", body)["event"])

    def script_ran(self, type_name: str, started: float, status: str) -> None:
        self._call("script-ran", {"type": type_name, "started": started, "status": status})

    def collection(self, args: Sequence[Any]) -> Any:
        return self._call("collection", {"args": list(args)})["value"]

    def semaphore(self, job_id: int, run_id: str | None, token: str, entry: str) -> bool:
        body = {"run": run_id, "token": token, "need": entry}
        return bool(self._call(f"{job_id}/semaphore", body)["granted"])

    def semaphore_release(self, job_id: int, run_id: str | None, tokens: Sequence[str]) -> None:
        self._call(f"{job_id}/semaphore/release", {"run": run_id, "tokens": list(tokens)})

    # -- jobset storage --------------------------------------------------------------------

    def kv_get(self, jobset: int, key: str) -> tuple[bool, Any]:
        r = self._call("kv", {"op": "get", "jobset": jobset, "key": key})
        return bool(r["found"]), r["value"]

    def kv_put(self, jobset: int, values: Mapping[str, Any]) -> None:
        self._call("kv", {"op": "put", "jobset": jobset, "values": dict(values)})

    def kv_delete(self, jobset: int, keys: Sequence[str]) -> int:
        return int(
            self._call("kv", {"op": "delete", "jobset": jobset, "keys": list(keys)})["removed"]
        )

    def kv_all(self, jobset: int) -> dict[str, Any]:
        values: dict[str, Any] = self._call("kv", {"op": "all", "jobset": jobset})["values"]
        return values

    def kv_update(self, jobset: int, put: Mapping[str, Any], delete: Sequence[str]) -> int:
        body = {"op": "update", "jobset": jobset, "values": dict(put), "keys": list(delete)}
        return int(self._call("kv", body)["removed"])


def _with_run(request: ClaimRequest) -> ClaimRequest:
    """The claim with a run id of its own, chosen here so that a retried claim names the
    jobs the lost first try leased."""
    return request if request.run else replace(request, run=uuid.uuid4().hex[:12])


def _result(r: httpx.Response) -> Any:
    if r.status_code < 400:
        return r.json()
    try:
        err = r.json()["error"]
        code, message = str(err["code"]), str(err["message"])
    except (ValueError, KeyError, TypeError):
        code, message = "http", f"HTTP {r.status_code}"
    if code == "lease_lost":
        raise LeaseLost(message)
    if r.status_code in (401, 403):
        raise ConfigError(_("the server refused this worker: {message}", message=message))
    if r.status_code == 404:
        raise NotFound(message)
    if code == "invalid_transition":
        raise JobyardError(message)
    if r.status_code < 500:
        raise InvalidInput(message)
    raise DatabaseError(_("the server failed: {message}", message=message))
