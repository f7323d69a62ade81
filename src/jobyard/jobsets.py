"""Jobsets: jobs created together, and the key/value storage their jobs share.

A jobset is a row ``(id, kind, name, meta, created)``; its jobs name it in their ``jobset``
field (``yard.enqueue(..., jobset=id)``). ``kind`` says what made it (``converge``,
``batch``, ``anyjob`` ...), ``meta`` is free JSON for that maker.

Jobset storage is a table of ``(jobset, key) → JSON value`` rows, seen as a
:class:`JobsetStorage` mapping: ``job.shared`` inside a running job,
``yard.jobset(id).storage`` outside. Every read goes to the store and every write is an
upsert committed at once (or with the caller's ``store.transaction()``), so jobs on any
worker process see each other's writes. There is no locking: two jobs writing one key
concurrently — the last write wins. Keep a key per writer, or a key per job, when that
matters.

Values are JSON (``None``, booleans, numbers, strings, lists, dicts with string keys); on
PostgreSQL they are JSONB, which does not keep the order of a dict's keys.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jobyard import model
from jobyard.errors import InvalidInput, NotFound
from jobyard.i18n import _
from jobyard.limits import MAX_DATA_BYTES, check_text, encode_json
from jobyard.model import Job, iso
from jobyard.store.kv import MISSING

if TYPE_CHECKING:
    from jobyard.store.base import Store
    from jobyard.yard import Yard

__all__ = ["UNFINISHED", "Jobset", "JobsetStorage", "create_jobset", "load_jobset"]

#: statuses of a job that may still run; a jobset is done when none of its jobs has one
UNFINISHED = frozenset({model.WAITING, model.READY, model.RUNNING, model.PAUSED})
_MAX_KEY = 1000


def encode_value(value: Any, what: str, limit: int) -> str:
    """``value`` as compact JSON text, or InvalidInput saying why it cannot be stored."""
    return encode_json(value, what, limit, "max_data_bytes")


def _jobset_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(
            _("invalid jobset id {value!r}: ids are whole numbers >= 1", value=value)
        )
    return value


def _key(key: Any) -> str:
    if not isinstance(key, str):
        raise InvalidInput(
            _(
                "jobset storage keys are strings, got {name} {key!r}",
                name=type(key).__name__,
                key=key,
            )
        )
    if not key or len(key) > _MAX_KEY:
        raise InvalidInput(
            _(
                "invalid jobset storage key {key!r}: 1 to {MAX_KEY} characters",
                key=key,
                MAX_KEY=_MAX_KEY,
            )
        )
    return check_text(key, _("jobset storage key {key!r}", key=key))


class JobsetStorage(MutableMapping[str, Any]):
    """The shared storage of one jobset, read from and written to the store at once."""

    def __init__(self, store: Store, jobset: int, limit: int = MAX_DATA_BYTES) -> None:
        self.store = store
        self.jobset = _jobset_id(jobset)
        self.limit = limit

    def __repr__(self) -> str:
        return f"<JobsetStorage of jobset {self.jobset}>"

    def __getitem__(self, key: str) -> Any:
        value = self.store.jobset_get_value(self.jobset, _key(key))
        if value is MISSING:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self.put_many({key: value})

    def __delitem__(self, key: str) -> None:
        if self.store.jobset_delete(self.jobset, [_key(key)]) != 1:
            raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.snapshot()))

    def __len__(self) -> int:
        return self.store.jobset_count(self.jobset)

    def snapshot(self) -> dict[str, Any]:
        """Every key and value, read in one statement (keys sorted)."""
        return self.store.jobset_values(self.jobset)

    def put_many(self, values: Mapping[str, Any]) -> None:
        """Upsert several keys in one transaction (each value checked first)."""
        encoded = {
            _key(key): encode_value(value, _("jobset storage value {key!r}", key=key), self.limit)
            for key, value in values.items()
        }
        self.store.jobset_put(self.jobset, encoded, time.time())

    def delete_many(self, keys: Iterable[str]) -> int:
        """Remove keys (missing ones are ignored); returns how many were there."""
        checked = [_key(key) for key in keys]
        return self.store.jobset_delete(self.jobset, checked)

    def update(self, other: Any = (), /, *, delete: Iterable[str] = (), **kwargs: Any) -> None:
        """``dict.update``, and remove the keys of ``delete``, in one transaction: every
        other job sees all of it or none of it."""
        self._update(dict(other, **kwargs), list(delete))

    def _update(self, put: Mapping[str, Any], delete: Sequence[str]) -> int:
        gone = [_key(key) for key in delete]
        encoded = {
            _key(key): encode_value(value, _("jobset storage value {key!r}", key=key), self.limit)
            for key, value in put.items()
        }
        with self.store.transaction():
            if encoded:
                self.store.jobset_put(self.jobset, encoded, time.time())
            return self.store.jobset_delete(self.jobset, gone) if gone else 0


def status_counts(jobs: Iterable[Job]) -> dict[str, int]:
    """How many of ``jobs`` have each status (every status is listed)."""
    found = dict.fromkeys(model.STATUSES, 0)
    for job in jobs:
        found[job.status] = found.get(job.status, 0) + 1
    return found


@dataclass
class Jobset:
    """A jobset as read from the store, with its jobs (by id) and a status summary."""

    id: int
    kind: str
    name: str
    meta: dict[str, Any]
    created: float
    jobs: list[Job]
    storage: JobsetStorage = field(repr=False, compare=False)

    @property
    def counts(self) -> dict[str, int]:
        """How many of its jobs have each status (every status is listed)."""
        return status_counts(self.jobs)

    @property
    def done(self) -> bool:
        """No job is waiting, ready, running or paused."""
        return not any(job.status in UNFINISHED for job in self.jobs)

    @property
    def succeeded(self) -> bool:
        """Done, and every job completed."""
        return all(job.status == model.COMPLETED for job in self.jobs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "meta": self.meta,
            "created": iso(self.created),
            "counts": self.counts,
            "done": self.done,
            "jobs": [job.id for job in self.jobs],
        }


def create_jobset(yard: Yard, kind: str, name: str, meta: Mapping[str, Any] | None = None) -> int:
    """Record a new jobset; returns its id (joins the caller's ``store.transaction()``)."""
    for what, text in (("kind", kind), ("name", name)):
        if not isinstance(text, str) or not text or len(text) > _MAX_KEY:
            raise InvalidInput(
                _(
                    "invalid jobset {what} {text!r}: 1 to {MAX_KEY} characters",
                    what=what,
                    text=text,
                    MAX_KEY=_MAX_KEY,
                )
            )
        check_text(text, f"jobset {what} {text!r}")
    if meta is not None and not isinstance(meta, Mapping):
        raise InvalidInput(_("jobset meta must be a mapping"))
    encoded = encode_value(dict(meta or {}), "jobset meta", yard.config.max_data_bytes)
    return yard.store.insert_jobset(kind, name, encoded, time.time())


def load_jobset(yard: Yard, jobset_id: int) -> Jobset:
    """The jobset with its jobs (oldest first); NotFound if there is no such jobset."""
    jobset_id = _jobset_id(jobset_id)
    store = yard.store
    row = store.get_jobset(jobset_id)
    if row is None:
        raise NotFound(_("no jobset with id {jobset_id}", jobset_id=jobset_id))
    jobs = sorted(yard.jobs(jobset=jobset_id, limit=None), key=lambda job: job.id)
    return Jobset(
        id=jobset_id,
        kind=row.kind,
        name=row.name,
        meta=row.meta,
        created=row.created,
        jobs=jobs,
        storage=JobsetStorage(store, jobset_id, yard.config.max_data_bytes),
    )
