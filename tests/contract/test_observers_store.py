"""The observers' store mixin (store/observers.py) on every backend: one owner per observer
at a time (lease), its cursor, and delivery rows (one per observer and event)."""

from __future__ import annotations

import pytest

from jobyard import Yard


def test_one_owner_at_a_time_and_a_lapsed_lease_is_taken_over(yard: Yard) -> None:
    store = yard.store
    got = store.claim_observer("ops", "a", now=100.0, lease_until=130.0, start_cursor=7)
    assert got is not None and got.owner == "a" and got.cursor == 7
    assert store.claim_observer("ops", "b", now=110.0, lease_until=140.0, start_cursor=0) is None
    again = store.claim_observer("ops", "a", now=120.0, lease_until=150.0, start_cursor=0)
    assert again is not None and again.cursor == 7 and again.lease_until == 150.0
    taken = store.claim_observer("ops", "b", now=151.0, lease_until=180.0, start_cursor=0)
    assert taken is not None and taken.owner == "b" and taken.cursor == 7
    # The old owner can no longer move the cursor; the new one can.
    assert not store.advance_observer("ops", "a", 9, now=152.0)
    assert store.advance_observer("ops", "b", 9, now=152.0)
    state = store.observer_state("ops")
    assert state is not None and state.cursor == 9
    # A dead owner's observer is taken before its lease ends, from that owner only.
    assert store.take_observer("ops", "c", "a", now=153.0, lease_until=183.0) is None
    took = store.take_observer("ops", "c", "b", now=153.0, lease_until=183.0)
    assert took is not None and took.owner == "c" and took.cursor == 9
    store.release_observer("ops", "b", now=153.0)  # no longer b's: nothing happens
    held = store.observer_state("ops")
    assert held is not None and held.owner == "c"
    store.release_observer("ops", "c", now=153.0)
    released = store.observer_state("ops")
    assert released is not None and released.owner is None
    assert [s.name for s in store.observer_states()] == ["ops"]
    assert store.observer_state("nobody") is None


def test_a_delivery_is_recorded_once_per_observer_and_event(yard: Yard) -> None:
    store = yard.store
    event = {"id": 5, "name": "job.failed", "job": 3, "data": {"error": "boom"}}
    assert store.begin_delivery("ops", 5, 3, event, now=10.0)
    assert not store.begin_delivery("ops", 5, 3, event, now=11.0)  # already there
    assert store.begin_delivery("audit", 5, 3, event, now=11.0)  # another observer's own
    d = store.delivery("ops", 5)
    assert d is not None and d.status == "sending" and d.attempts == 1 and d.event == event
    assert store.deliveries_in_flight("ops") == [d]
    store.finish_delivery("ops", 5, "retry", now=12.0, error="refused", next_at=20.0)
    assert store.due_deliveries("ops", now=19.0) == []
    [due] = store.due_deliveries("ops", now=20.0)
    assert due.last_error == "refused" and due.attempts == 1
    assert store.begin_retry("ops", 5, now=21.0)
    assert not store.begin_retry("ops", 5, now=21.5)  # already sending
    store.finish_delivery("ops", 5, "sent", now=22.0)
    d = store.delivery("ops", 5)
    assert d is not None and d.status == "sent" and d.attempts == 2 and d.job_id == 3
    assert store.delivery_counts("ops") == {"sent": 1}
    recent = store.recent_deliveries(limit=5)
    assert [(r.observer, r.event_id) for r in recent] == [("ops", 5), ("audit", 5)]
    assert [r.observer for r in store.recent_deliveries("audit")] == ["audit"]
    with pytest.raises(ValueError, match="unknown delivery status"):
        store.finish_delivery("ops", 5, "maybe", now=23.0)


def test_prune_forgets_only_old_finished_deliveries(yard: Yard) -> None:
    store = yard.store
    for i, status in enumerate(["sent", "failed", "retry", "unknown"], start=1):
        store.begin_delivery("ops", i, None, {"id": i}, now=float(i))
        store.finish_delivery("ops", i, status, now=float(i), next_at=1e12)
    store.begin_delivery("ops", 9, None, {"id": 9}, now=100.0)
    assert store.prune_deliveries("ops", before=50.0) == 3
    assert {d.event_id for d in store.recent_deliveries("ops")} == {3, 9}
