"""Job types for the web UI tests (loaded by ``jobyard web`` and ``jobyard worker``)."""

from __future__ import annotations

import time
from typing import Literal

from jobyard import Yard

yard = Yard()


@yard.job
def slow(job, steps: int = 6, pause: float = 0.4) -> int:  # type: ignore[no-untyped-def]
    for i in range(steps):
        job.log(f"step {i + 1} of {steps}")
        job.progress(i + 1, steps)
        time.sleep(pause)
    return steps


@yard.job
def greet(  # type: ignore[no-untyped-def]
    job, name: str, times: int = 1, loud: bool = False, mood: Literal["calm", "wild"] = "calm"
) -> str:
    text = ("HELLO " if loud else "hello ") + name
    job.log(text + f" ({mood})")
    return " ".join([text] * times)


@yard.job
def echo(job, text: str = "") -> str:  # type: ignore[no-untyped-def]
    job.log(text)
    return text


@yard.job(queue="held")  # no worker serves "held": its jobs wait to be managed
def parked(job) -> None:  # type: ignore[no-untyped-def]
    return None
