"""The delayed works table (jobyard.delayed): saved job creations, at a time or on a crontab."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jobyard.store.core import StoreCore


@dataclass(frozen=True)
class DelayedRow:
    id: int
    type: str
    nodes: list[str]
    data: Any
    props: dict[str, Any]
    at: float | None
    cron: str | None
    timezone: str | None
    skip: int
    paused: bool
    done: bool
    fired: int
    created: float
    updated: float


class DelayedMixin(StoreCore):
    def insert_delayed(
        self,
        type_name: str,
        nodes: Sequence[str],
        data_json: str,
        props: dict[str, Any],
        at: float | None,
        cron: str | None,
        timezone: str | None,
        skip: int,
        paused: bool,
        now: float,
    ) -> int:
        """Record a delayed work (``data_json`` checked by the caller's encoder)."""
        params = {
            "type": type_name,
            "nodes": self.encode_json(list(nodes)),
            "data": data_json,
            "props": self.encode_json(props),
            "at": at,
            "cron": cron,
            "timezone": timezone,
            "skip": skip,
            "paused": bool(paused),  # SQLite stores a bool as 0/1
            "now": now,
        }
        return int(self.execute("delayed_insert", params).fetchone()[0])

    def list_delayed(self) -> list[DelayedRow]:
        return [self._delayed(r) for r in self.execute("delayed_list", {}).fetchall()]

    def get_delayed(self, work_id: int) -> DelayedRow | None:
        row = self.execute("delayed_get", {"id": work_id}).fetchone()
        return None if row is None else self._delayed(row)

    def set_delayed(self, work_id: int, paused: bool, skip: int, done: bool, now: float) -> bool:
        params = {"id": work_id, "paused": paused, "skip": skip, "done": done, "now": now}
        return int(self.execute("delayed_set", params).rowcount) == 1

    def use_delayed_skip(self, work_id: int, now: float) -> bool:
        """Take one from the skip count; False when there was none left."""
        return int(self.execute("delayed_use_skip", {"id": work_id, "now": now}).rowcount) == 1

    def delayed_fired(self, work_id: int, done: bool, now: float) -> None:
        self.execute("delayed_fired", {"id": work_id, "done": done, "now": now})

    def delete_delayed(self, work_id: int) -> bool:
        return int(self.execute("delayed_delete", {"id": work_id}).rowcount) == 1

    def _delayed(self, r: Any) -> DelayedRow:
        def js(v: Any) -> Any:
            return self.decode_json(v) if isinstance(v, str) else v

        return DelayedRow(
            int(r[0]), str(r[1]), list(js(r[2]) or []), js(r[3]), dict(js(r[4]) or {}),
            None if r[5] is None else float(r[5]), r[6], r[7], int(r[8]), bool(r[9]),
            bool(r[10]), int(r[11]), float(r[12]), float(r[13]),
        )  # fmt: skip
