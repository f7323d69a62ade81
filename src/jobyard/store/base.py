"""The store seam: one :class:`Store` made of a typed concern per module.

- :mod:`~jobyard.store.core`: connections, transactions, named queries, the JSON codec
  (private to ``jobyard.store``: nothing outside it runs a query or touches the codec);
- :mod:`~jobyard.store.inserts`: new jobs, their job.created events and dependencies;
- :mod:`~jobyard.store.jobs`: reading and changing jobs, logs, tombstones;
- :mod:`~jobyard.store.leases`: due jobs, claims (candidates → admission → claim), leases, progress;
- :mod:`~jobyard.store.workers`: the workers registry and the job types;
- :mod:`~jobyard.store.events`: the events log, read by cursor;
- :mod:`~jobyard.store.kv`: schedule ticks, jobsets and their storage;
- :mod:`~jobyard.store.collections`: item collections;
- :mod:`~jobyard.store.observers`: observers' cursors and deliveries;
- :mod:`~jobyard.store.semaphores`: semaphore definitions, the gated jobs admission counts;
- :mod:`~jobyard.store.holds`: call holds (``job.semaphore(...)``) and the step granting one.

Policy (state machine, retries, dependencies) lives above, in :mod:`jobyard.lifecycle`,
once for every backend; backends (sqlite.py, postgres.py) supply the primitives.
"""

from __future__ import annotations

from jobyard.store.accounts import AccountsMixin, AuditRow, SessionRow, TokenRow, UserRow
from jobyard.store.collections import CollectionsMixin, Item, ItemOrder
from jobyard.store.core import JOB_COLUMNS, JSON_COLUMNS, Result, StoreCore, Waiter, dumps
from jobyard.store.delayed import DelayedMixin, DelayedRow
from jobyard.store.events import Event, EventsMixin, JobEvent
from jobyard.store.holds import HoldsMixin
from jobyard.store.inserts import InsertsMixin, NewJob, NewRow
from jobyard.store.jobs import JobFilter, JobsMixin, Update
from jobyard.store.kv import MISSING, JobsetRow, KVMixin
from jobyard.store.leases import LeasesMixin
from jobyard.store.observers import Delivery, ObserversMixin, ObserverState
from jobyard.store.semaphores import SemaphoresMixin
from jobyard.store.workers import StoredType, WorkerRow, WorkersMixin


class Store(
    InsertsMixin,
    JobsMixin,
    LeasesMixin,
    WorkersMixin,
    EventsMixin,
    KVMixin,
    CollectionsMixin,
    AccountsMixin,
    ObserversMixin,
    DelayedMixin,
    HoldsMixin,
    SemaphoresMixin,
):
    """Every concern of the store; a backend subclasses this."""


__all__ = [
    "JOB_COLUMNS",
    "JSON_COLUMNS",
    "MISSING",
    "AuditRow",
    "DelayedRow",
    "Delivery",
    "Event",
    "Item",
    "ItemOrder",
    "JobEvent",
    "JobFilter",
    "JobsetRow",
    "NewJob",
    "NewRow",
    "ObserverState",
    "Result",
    "SessionRow",
    "Store",
    "StoreCore",
    "StoredType",
    "TokenRow",
    "Update",
    "UserRow",
    "Waiter",
    "WorkerRow",
    "dumps",
]
