"""Observer tables (jobyard.observers): each observer's cursor into ``job_events`` with the
process that holds it (owner + lease), and the deliveries it attempted, one row per
(observer, event): ``sending`` -> ``sent`` | ``retry`` -> ... | ``failed``, or ``unknown``
when the process that was sending it died (docs/observers.md, the crash window)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jobyard.store.core import StoreCore

DELIVERY_STATUSES = ("sending", "sent", "retry", "failed", "unknown")


@dataclass(frozen=True)
class ObserverState:
    name: str
    cursor: int
    owner: str | None
    lease_until: float | None
    updated: float


@dataclass(frozen=True)
class Delivery:
    observer: str
    event_id: int
    job_id: int | None
    event: dict[str, Any]  # the event as jobyard.views.job_event_view shows it
    status: str
    attempts: int
    last_error: str | None
    next_at: float | None
    created: float
    updated: float


def _opt(value: Any) -> float | None:
    return None if value is None else float(value)


class ObserversMixin(StoreCore):
    # -- state: cursor and lease ----------------------------------------------------------

    def claim_observer(
        self, name: str, owner: str, now: float, lease_until: float, start_cursor: int
    ) -> ObserverState | None:
        """Take (or keep) the observer ``name`` for ``owner`` until ``lease_until``; a new
        observer starts at ``start_cursor``. None while another live owner holds it."""
        with self.transaction():
            self.execute("observer_init", {"name": name, "cursor": start_cursor, "now": now})
            params = {"name": name, "owner": owner, "lease_until": lease_until, "now": now}
            row = self.execute("observer_claim", params).fetchone()
        return None if row is None else self._state(row)

    def take_observer(
        self, name: str, owner: str, from_owner: str, now: float, lease_until: float
    ) -> ObserverState | None:
        """Take the observer from ``from_owner`` before its lease ends (the caller knows
        that owner is dead); None if someone else holds it by now."""
        params = {
            "name": name,
            "owner": owner,
            "from_owner": from_owner,
            "now": now,
            "lease_until": lease_until,
        }
        row = self.execute("observer_take", params).fetchone()
        return None if row is None else self._state(row)

    def release_observer(self, name: str, owner: str, now: float) -> None:
        self.execute("observer_release", {"name": name, "owner": owner, "now": now})

    def advance_observer(self, name: str, owner: str, cursor: int, now: float) -> bool:
        """Move the cursor; False when ``owner`` no longer holds the observer."""
        params = {"name": name, "owner": owner, "cursor": cursor, "now": now}
        return self.execute("observer_advance", params).rowcount == 1

    def observer_state(self, name: str) -> ObserverState | None:
        row = self.execute("observer_get", {"name": name}).fetchone()
        return None if row is None else self._state(row)

    def observer_states(self) -> list[ObserverState]:
        return [self._state(r) for r in self.execute("observers_all", {}).fetchall()]

    def _state(self, row: Any) -> ObserverState:
        return ObserverState(
            str(row["name"]),
            int(row["cursor"]),
            row["owner"],
            _opt(row["lease_until"]),
            float(row["updated"]),
        )

    # -- deliveries ----------------------------------------------------------------------

    def begin_delivery(
        self, observer: str, event_id: int, job_id: int | None, event: Any, now: float
    ) -> bool:
        """Record a first attempt as ``sending``, committed before anything is sent;
        False when the event has a delivery row already (look at it: delivery())."""
        params = {
            "observer": observer,
            "event_id": event_id,
            "job_id": job_id,
            "event": self.encode_json(event),
            "now": now,
        }
        return self.execute("delivery_begin", params).rowcount == 1

    def begin_retry(self, observer: str, event_id: int, now: float) -> bool:
        """A ``retry`` delivery back to ``sending`` with one more attempt counted."""
        params = {"observer": observer, "event_id": event_id, "now": now}
        return self.execute("delivery_retry_begin", params).rowcount == 1

    def finish_delivery(
        self,
        observer: str,
        event_id: int,
        status: str,
        now: float,
        error: str | None = None,
        next_at: float | None = None,
    ) -> None:
        if status not in DELIVERY_STATUSES:
            raise ValueError(f"unknown delivery status {status!r}")
        params = {
            "observer": observer,
            "event_id": event_id,
            "status": status,
            "error": error,
            "next_at": next_at,
            "now": now,
        }
        self.execute("delivery_finish", params)

    def delivery(self, observer: str, event_id: int) -> Delivery | None:
        params = {"observer": observer, "event_id": event_id}
        row = self.execute("delivery_get", params).fetchone()
        return None if row is None else self._delivery(row)

    def due_deliveries(self, observer: str, now: float, limit: int = 20) -> list[Delivery]:
        """``retry`` deliveries whose time has come, the longest waiting first."""
        params = {"observer": observer, "now": now, "limit": limit}
        return [self._delivery(r) for r in self.execute("deliveries_due", params).fetchall()]

    def deliveries_in_flight(self, observer: str) -> list[Delivery]:
        rows = self.execute("deliveries_in_flight", {"observer": observer}).fetchall()
        return [self._delivery(r) for r in rows]

    def recent_deliveries(self, observer: str | None = None, limit: int = 20) -> list[Delivery]:
        """The ``limit`` most recently changed deliveries (of one observer), newest first."""
        params = {"observer": observer, "limit": limit}
        return [self._delivery(r) for r in self.execute("deliveries_recent", params).fetchall()]

    def delivery_counts(self, observer: str) -> dict[str, int]:
        rows = self.execute("deliveries_count", {"observer": observer}).fetchall()
        return {str(r["status"]): int(r["n"]) for r in rows}

    def prune_deliveries(self, observer: str, before: float) -> int:
        """Forget finished deliveries last changed before ``before``."""
        params = {"observer": observer, "before": before}
        return self.execute("deliveries_prune", params).rowcount

    def _delivery(self, row: Any) -> Delivery:
        return Delivery(
            str(row["observer"]),
            int(row["event_id"]),
            None if row["job_id"] is None else int(row["job_id"]),
            self.decode_json(row["event"]),
            str(row["status"]),
            int(row["attempts"]),
            row["last_error"],
            _opt(row["next_at"]),
            float(row["created"]),
            float(row["updated"]),
        )
