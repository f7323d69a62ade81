"""The spec builder behind every Yard entry point, on every backend: enqueue, enqueue_many
and rerun refuse option names they do not know, listing the known ones, before writing."""

from __future__ import annotations

import pytest

from jobyard import InvalidInput, Yard
from jobyard.spec import OPTIONS


def known() -> str:
    return ", ".join(sorted(OPTIONS))


def test_enqueue_and_enqueue_many_refuse_unknown_options(yard: Yard) -> None:
    @yard.job
    def noop(job):  # type: ignore[no-untyped-def]
        return None

    with pytest.raises(InvalidInput, match=f"unknown enqueue option\\(s\\) qeue; known: {known()}"):
        yard.enqueue("noop", qeue="x")
    with pytest.raises(InvalidInput, match="unknown enqueue option\\(s\\) prio"):
        yard.enqueue_many("noop", [1, 2], prio=1)
    assert yard.count() == 0


def test_rerun_refuses_options_it_would_ignore(yard: Yard) -> None:
    @yard.job
    def noop(job):  # type: ignore[no-untyped-def]
        return None

    h = noop.defer()
    w = yard.worker().start()
    try:
        h.wait(timeout=20)
    finally:
        w.stop()
    with pytest.raises(InvalidInput, match=r"unknown rerun option\(s\) queue; known: repeat"):
        yard.rerun(h.id, queue="elsewhere")  # was silently ignored: the copy kept its queue
    assert yard.count() == 1
    again = yard.rerun(h.id, repeat=1)
    assert again.job.repeats == 1 and yard.count() == 2
