"""Admission as pure functions: priority merge, per-key limits, wait versus skip."""

from __future__ import annotations

from jobyard.admission import (
    Candidate,
    Held,
    Limit,
    Rules,
    admit,
    lock_id,
    merge,
    refusal_message,
    type_key,
)


def c(id: int, type: str = "t", priority: int = 0, after: float = 0.0) -> Candidate:
    return Candidate(priority, after, id, type)


def test_merge_orders_every_queue_by_priority_after_id_and_drops_repeats() -> None:
    a = [c(3, priority=-10), c(5, priority=0)]
    b = [c(4, priority=-10, after=-1.0), c(3, priority=-10), c(1, priority=10)]
    assert [x.id for x in merge([a, b])] == [4, 3, 5, 1]


def test_no_limits_admits_in_order_up_to_want() -> None:
    verdict = admit([c(2), c(1), c(3)], Rules(), {}, 2)
    assert verdict.claim == [1, 2] and verdict.refused == []


def test_a_limit_counts_running_and_this_batch() -> None:
    rules = Rules.for_types({"x": Limit(2)})
    cands = [c(1, "x"), c(2, "x"), c(3, "y"), c(4, "x"), c(5, "y")]
    assert admit(cands, rules, {}, 10).claim == [1, 2, 3, 5]
    running = {type_key("x"): Held(1, 99)}
    assert admit(cands, rules, running, 10).claim == [1, 3, 5]
    assert admit(cands, rules, {type_key("x"): Held(5, 99)}, 10).claim == [3, 5]  # over: 0


def test_a_full_wait_key_leaves_room_for_others_within_want() -> None:
    rules = Rules.for_types({"x": Limit(1)})
    verdict = admit([c(1, "x"), c(2, "x"), c(3, "y")], rules, {}, 2)
    assert verdict.claim == [1, 3] and verdict.refused == []


def test_a_full_skip_key_refuses_naming_the_holder() -> None:
    rules = Rules.for_types({"m": Limit(1, "skip")})
    verdict = admit([c(1, "m"), c(2, "m")], rules, {}, 5)
    assert admit([c(1, "m"), c(2, "m")], rules, {}, 1).refused == []  # 2 would not start
    assert verdict.claim == [1]
    (r,) = verdict.refused
    assert (r.id, r.type, r.key, r.holder) == (2, "m", "type:m", 1)
    assert refusal_message(r).startswith("skipped: m is a mutex type and job 1 is still running")
    busy = admit([c(3, "m")], rules, {type_key("m"): Held(1, 7)}, 5)
    assert busy.claim == [] and busy.refused[0].holder == 7


def test_several_keys_a_job_needs_must_all_have_room() -> None:
    class TwoKeys(Rules):
        def keys_of(self, candidate: Candidate) -> tuple[str, ...]:
            return ("semaphore:db", type_key(candidate.type))  # the semaphore hook (#12)

    rules = TwoKeys({"semaphore:db": Limit(2), "type:a": Limit(5), "type:b": Limit(5)})
    verdict = admit([c(1, "a"), c(2, "b"), c(3, "a")], rules, {}, 10)
    assert verdict.claim == [1, 2]


def test_limited_types_and_lock_ids_are_stable() -> None:
    rules = Rules.for_types({"b": Limit(1), "a": Limit(2)})
    assert rules.limited_types(None) == ["a", "b"]
    assert rules.limited_types(["b", "z"]) == ["b"] and Rules().limited_types(["a"]) == []
    assert lock_id("type:a") == lock_id("type:a") != lock_id("type:b")
    assert -(2**63) <= lock_id("type:a") < 2**63
