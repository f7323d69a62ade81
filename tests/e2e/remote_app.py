"""Job types of the remote-worker tests. The Yard names a database this worker cannot
reach: a remote worker must never open it."""

from __future__ import annotations

import time

from jobyard import Yard

yard = Yard("postgresql://nobody@127.0.0.1:1/unreachable")


@yard.job
def remote_echo(job, text: str = "", steps: int = 2) -> str:  # type: ignore[no-untyped-def]
    for i in range(steps):
        job.log(f"{text} {i}")
        job.progress(i + 1, steps)
    if job.job.jobset is not None:
        job.shared[f"seen-{job.id}"] = text
    job.emit("remote.done", {"text": text})
    return text.upper()


@yard.job(retry={"retries": 1, "wait": 0})
def remote_flaky(job) -> str:  # type: ignore[no-untyped-def]
    if job.job.attempts < 2:
        raise RuntimeError("first try fails")
    return "second try"


@yard.job
def remote_slow(job, seconds: float = 30) -> str:  # type: ignore[no-untyped-def]
    end = time.time() + seconds
    while time.time() < end:
        time.sleep(0.1)
    return "slept"
