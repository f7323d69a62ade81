"""The observers' delivery loop on every backend: each event once through a stop in the
middle of a batch and a restart, one holder at a time, retries with backoff. Events are
job.created (no worker needed); the channel is a real log file."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from tests.helpers import until

from jobyard import Yard
from jobyard.observers import Observers, parse_observer
from jobyard.observers.channels import ChannelError
from jobyard.observers.channels.logfile import LogFileChannel
from jobyard.observers.delivery import ObserverLoop
from jobyard.observers.render import Notification


class StopAfter:
    """The log file channel, setting ``stop`` after ``n`` lines (a stop mid-batch)."""

    def __init__(self, path: Path, n: int, stop: threading.Event) -> None:
        self.inner, self.n, self.stop = LogFileChannel(str(path)), n, stop

    def send(self, notification: Notification) -> None:
        self.inner.send(notification)
        self.n -= 1
        if self.n == 0:
            self.stop.set()


class Flaky:
    def __init__(self, path: Path, failures: int) -> None:
        self.inner, self.failures, self.calls = LogFileChannel(str(path)), failures, 0

    def send(self, notification: Notification) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise ChannelError(f"refused (call {self.calls})")
        self.inner.send(notification)


def config(path: Path, **kw: Any) -> Any:
    raw = {"name": "ops", "channel": "log", "path": str(path), "events": ["job.created"],
           "start": "beginning", "line": "{{ job.id }}", **kw}  # fmt: skip
    return parse_observer(raw)


def created(yard: Yard, n: int) -> list[int]:
    yard.job(name="t")(lambda job: None)
    ids = [yard.enqueue("t").id for _ in range(n)]
    until(lambda: len(yard.store.job_events_after(0, 100, ["job.created"])) == n)
    return ids


def test_a_stop_mid_batch_then_a_restart_delivers_each_event_once(
    yard: Yard, tmp_path: Path
) -> None:
    path = tmp_path / "out.log"
    ids = created(yard, 7)
    stop = threading.Event()
    first = ObserverLoop(yard, config(path), StopAfter(path, 3, stop), "first", poll=0.01)
    first.step(stop)  # one batch of all 7, stopped after the third
    first.release()
    assert path.read_text().split() == [str(i) for i in ids[:3]]
    state = yard.store.observer_state("ops")
    assert state is not None and state.owner is None and state.cursor > 0
    second = ObserverLoop(yard, config(path), LogFileChannel(str(path)), "second", poll=0.01)
    while second.step():
        pass
    assert path.read_text().split() == [str(i) for i in ids]
    assert yard.store.delivery_counts("ops") == {"sent": 7}


def test_one_holder_at_a_time_and_the_other_takes_over_when_it_stops(
    yard: Yard, tmp_path: Path
) -> None:
    path = tmp_path / "out.log"
    ids = created(yard, 4)
    a = Observers(yard, [config(path)], lease=30, poll=0.02).start()
    b = Observers(yard, [config(path)], lease=30, poll=0.02).start()
    try:
        until(lambda: path.exists() and len(path.read_text().split()) == 4)
        state = yard.store.observer_state("ops")
        assert state is not None and state.owner == a.owner  # b never got it
        a.stop()
        more = [yard.enqueue("t").id for _ in range(2)]
        until(lambda: len(path.read_text().split()) == 6)
        state = yard.store.observer_state("ops")
        assert state is not None and state.owner == b.owner
    finally:
        a.stop()
        b.stop()
    assert path.read_text().split() == [str(i) for i in ids + more]


def test_a_failing_send_is_retried_with_backoff_and_recorded(yard: Yard, tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    [job] = created(yard, 1)
    channel = Flaky(path, failures=2)
    loop = ObserverLoop(yard, config(path, backoff=0.2), channel, "me", poll=0.01)
    loop.step()
    [d] = yard.store.recent_deliveries("ops")
    assert d.status == "retry" and d.last_error == "refused (call 1)" and d.next_at is not None
    first_wait = d.next_at - d.updated
    assert 0.15 < first_wait < 0.3
    until(lambda: loop.step() and channel.calls == 2, timeout=5)
    [d] = yard.store.recent_deliveries("ops")
    assert d.next_at is not None and 0.35 < d.next_at - d.updated < 0.5  # doubled
    deadline = time.monotonic() + 5
    while channel.calls < 3 and time.monotonic() < deadline:
        loop.step()
        time.sleep(0.02)
    [d] = yard.store.recent_deliveries("ops")
    assert d.status == "sent" and d.attempts == 3 and path.read_text().split() == [str(job)]


def test_the_log_is_read_only_for_events_that_pass_the_filters(
    yard: Yard, tmp_path: Path, monkeypatch: Any
) -> None:
    """A long log is not read for every event an observer looks at: only for those it
    sends (or first, when its ``when`` expression reads the log)."""
    from jobyard import views

    reads: list[int] = []
    real = views.job_log
    monkeypatch.setattr(views, "job_log", lambda y, i: reads.append(i) or real(y, i))
    ids = created(yard, 4)
    path = tmp_path / "out.log"
    when = f"job.id == {ids[2]}"
    loop = ObserverLoop(yard, config(path, when=when, line="{{ job.log | length }}"),
                        LogFileChannel(str(path)), "a", poll=0.01)  # fmt: skip
    loop.step(threading.Event())
    assert len(path.read_text().split()) == 1 and reads == [ids[2]]
    reads.clear()
    other = tmp_path / "other.log"
    reader = ObserverLoop(yard, config(other, name="b", when="job.log | length >= 0"),
                          LogFileChannel(str(other)), "b", poll=0.01)  # fmt: skip
    reader.step(threading.Event())
    assert other.read_text().split() == [str(i) for i in ids] and sorted(reads) == ids
