"""Holders and call holds as pure functions (jobyard.admission, jobyard.callholds): a
jobset holder takes one slot for all its jobs, modes per holder, a job's own call hold
costs nothing more, and a waiting call writer goes first."""

from __future__ import annotations

import pytest

from jobyard.admission import Candidate, Held, Rules, admit, held
from jobyard.callholds import CallHold, counted, refusal
from jobyard.errors import InvalidInput
from jobyard.semaphores import Semaphore, parse_call, parse_holder

RULES = Rules(
    semaphores={
        "deploy": Semaphore("deploy", 1, holder="jobset"),
        "rw": Semaphore("rw", 2, holder="jobset"),
        "db": Semaphore("db", 2),
    }
)


def job(id: int, *needs: str, jobset: int | None = None) -> Candidate:
    return Candidate(0, 0.0, id, "t", jobset=jobset, needs=needs)


def call(token: str, job: int, entry: str, granted: bool = False, since: float = 0.0) -> CallHold:
    name, _, mode = entry.partition(":")
    return CallHold(token, job, name, mode, granted, since)


def test_a_jobset_holds_one_slot_for_all_its_jobs() -> None:
    running = [job(1, "deploy", jobset=7), job(2, "deploy", jobset=7)]
    counts = held(RULES, running)
    assert counts["semaphore:deploy"].count == 1
    assert dict(counts["semaphore:deploy"].holders) == {"jobset7": 1}
    cands = [job(3, "deploy", jobset=8), job(4, "deploy"), job(5, "deploy", jobset=7)]
    assert admit(cands, RULES, counts, 10).claim == [5]  # only A's own next job
    assert admit(cands, RULES, {}, 10).claim == [3]  # free: the first holder takes it


def test_modes_per_holder_a_writer_jobset_excludes_the_others() -> None:
    cands = [job(1, "rw:write", jobset=7), job(2, "rw:read", jobset=8), job(3, "rw:read", jobset=7)]
    assert admit(cands, RULES, {}, 10).claim == [1, 3]
    # a jobset reading wants to write: only when no other holder reads
    reading = held(RULES, [job(1, "rw:read", jobset=7), job(2, "rw:read", jobset=8)])
    assert reading["semaphore:rw"].count == 2
    assert admit([job(3, "rw:write", jobset=7)], RULES, reading, 10).claim == []
    alone = held(RULES, [job(1, "rw:read", jobset=7)])
    assert admit([job(3, "rw:write", jobset=7)], RULES, alone, 10).claim == [3]


def test_a_reserved_key_stops_new_holders_not_joiners() -> None:
    counts = held(RULES, [job(1, "deploy", jobset=7)])
    counts["semaphore:db"] = Held(0, None, {}, reserved=True)
    cands = [job(2, "db"), job(3, "deploy", jobset=7)]
    assert admit(cands, RULES, counts, 10).claim == [3]


def test_a_call_hold_counts_with_the_running_jobs() -> None:
    calls = [call("a", 1, "db", granted=True), call("b", 2, "db:write", since=1.0)]
    counts = counted(RULES, [job(3, "db")], calls)
    assert counts["semaphore:db"].count == 2 and counts["semaphore:db"].reserved
    assert admit([job(4, "db")], RULES, counts, 10).claim == []


def test_refusal_a_job_s_own_slot_is_free_and_others_count() -> None:
    running = [job(1, "db"), job(2, "db")]
    assert refusal(RULES, running, [], call("x", 1, "db")) is None  # job 1 holds db already
    full = refusal(RULES, running, [], call("x", 3, "db"))
    assert full is not None and full.key == "semaphore:db"
    mine = call("x", 3, "db")
    assert refusal(RULES, [job(1, "db")], [call("y", 4, "db", granted=True), mine], mine)
    assert refusal(RULES, [job(1, "db")], [mine], mine) is None


def test_refusal_a_writer_waiting_first_goes_first() -> None:
    writer = call("w", 1, "db:write", since=1.0)
    reader = call("r", 2, "db", since=2.0)
    early = call("e", 3, "db", since=0.5)
    calls = [writer, reader, early]
    assert refusal(RULES, [], calls, reader) is not None  # behind the writer
    assert refusal(RULES, [], calls, early) is None  # it asked before the writer
    assert refusal(RULES, [], calls, writer) is None
    again = call("w2", 1, "db", since=3.0)  # the writer's own job is not behind itself
    assert refusal(RULES, [], [writer, again], again) is None


def test_call_and_holder_input() -> None:
    assert parse_call("db", None) == "db" and parse_call("db", "write") == "db:write"
    for name, mode in (("db", "both"), ("db", ""), ("", None), ("@sites", None), (3, None)):
        with pytest.raises(InvalidInput):
            parse_call(name, mode)
    assert parse_holder("jobset", "holder") == "jobset"
    with pytest.raises(InvalidInput, match="holder must be 'job' or 'jobset', got 'set'"):
        parse_holder("set", "holder")
    with pytest.raises(InvalidInput, match="needs scope 'global'"):
        parse_holder("jobset", "holder", "jobset")
