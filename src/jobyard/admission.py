"""Admission: which of the candidate jobs a claim may take, written once for every backend.

A claim is *candidates → admission → claim*. The store's dialects supply only primitives
(ready candidates per queue in claim order, locked where the database can; the running
count per limited key; mark the admitted ones claimed). This module decides, in pure
functions over those rows, so SQLite and PostgreSQL (and a remote server later) apply the
same rules:

- **priority merge**: candidates of every queue in one order (priority, then ``after``,
  then id), as a single index walk would give them;
- **limits**: a *key* (today ``type:NAME``; semaphores, issue #12, add ``semaphore:NAME``)
  has a size, the most jobs needing it that may run at once across all workers. A job may
  need several keys; it is admitted only when every one of them has room;
- **what a full key does to a candidate**: ``wait`` (it stays ready and is looked at again
  on a later claim) or ``skip`` (it is refused for good: a busy mutex script type, whose run
  does not start at all, see docs/scripts.md).

The caller enforces the counts in the claim's transaction so they hold across workers:
SQLite's writer lock serialises claims; PostgreSQL takes a transaction-level advisory lock
per limited key (:func:`lock_id`) before counting.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

WhenFull = Literal["wait", "skip"]
TYPE_KEY = "type:"


def type_key(type_name: str) -> str:
    """The limit key of a job type."""
    return TYPE_KEY + type_name


@dataclass(frozen=True)
class Limit:
    """At most ``size`` jobs needing a key run at once; ``when_full`` says what becomes of a
    candidate that finds the key full."""

    size: int
    when_full: WhenFull = "wait"


@dataclass(frozen=True)
class Candidate:
    """A ready job a claim may take, in claim order (priority, after, id)."""

    priority: int
    after: float
    id: int
    type: str
    queue: str = ""

    @property
    def order(self) -> tuple[int, float, int]:
        return (self.priority, self.after, self.id)


@dataclass(frozen=True)
class Held:
    """How many jobs needing a key are running now, and one of them (for messages)."""

    count: int
    example: int | None = None


@dataclass(frozen=True)
class Refusal:
    """A candidate refused for good: ``key`` was full (of ``holder``'s kind)."""

    id: int
    type: str
    key: str
    holder: int | None


@dataclass
class Verdict:
    """The outcome of admission: ids to claim (in claim order) and candidates refused."""

    claim: list[int] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


@dataclass(frozen=True)
class Rules:
    """The limits a claim must respect, by key. Built from the job types the claiming
    worker knows (``JobType.limit``; a mutex script type is ``Limit(1, "skip")``)."""

    limits: Mapping[str, Limit] = field(default_factory=dict)

    @classmethod
    def for_types(cls, limits: Mapping[str, Limit]) -> Rules:
        """Rules from per-type limits (``{type name: Limit}``)."""
        return cls({type_key(name): limit for name, limit in limits.items()})

    def keys_of(self, candidate: Candidate) -> tuple[str, ...]:
        """The limited keys a candidate needs. Semaphores will add the job's own keys here
        (a candidate then carries them); a key without a limit constrains nothing."""
        key = type_key(candidate.type)
        return (key,) if key in self.limits else ()

    def limited_types(self, types: Sequence[str] | None) -> list[str]:
        """Which of ``types`` (None: every type) have a limit, sorted (the order locks are
        taken in, so two claimers never wait for each other in a circle)."""
        names = {k[len(TYPE_KEY) :] for k in self.limits if k.startswith(TYPE_KEY)}
        if types is not None:
            names &= set(types)
        return sorted(names)


def merge(per_queue: Iterable[Sequence[Candidate]]) -> list[Candidate]:
    """One claim order over every queue's candidates (a job listed twice counts once)."""
    seen: dict[int, Candidate] = {}
    for rows in per_queue:
        for c in rows:
            seen.setdefault(c.id, c)
    return sorted(seen.values(), key=lambda c: c.order)


def room(rules: Rules, running: Mapping[str, Held]) -> dict[str, int]:
    """Free slots per limited key (never below 0: a size lowered under the running count)."""
    return {
        key: max(0, limit.size - running.get(key, Held(0)).count)
        for key, limit in rules.limits.items()
    }


def admit(
    candidates: Sequence[Candidate],
    rules: Rules,
    running: Mapping[str, Held],
    want: int,
) -> Verdict:
    """Take up to ``want`` candidates in claim order, each only if every key it needs has
    room (and then it takes one slot of each). A candidate met while there is capacity but
    whose key is full is refused if that key ``skip``s, else left ready for a later claim;
    candidates after the ``want``-th admitted one are not looked at."""
    free = room(rules, running)
    holders = {key: held.example for key, held in running.items()}
    verdict = Verdict()
    for c in sorted(candidates, key=lambda c: c.order):
        if len(verdict.claim) >= want:
            break  # the rest would not start now either: nothing to decide about them
        keys = rules.keys_of(c)
        full = [k for k in keys if free[k] <= 0]
        if full:
            # It would start now, but a key it needs is taken: it skips (refused for good)
            # if one of the full keys says so, else it waits.
            skipping = [k for k in full if rules.limits[k].when_full == "skip"]
            if skipping:
                key = skipping[0]
                verdict.refused.append(Refusal(c.id, c.type, key, holders.get(key)))
            continue
        for k in keys:
            free[k] -= 1
            holders[k] = c.id
        verdict.claim.append(c.id)
    return verdict


def refusal_message(refusal: Refusal) -> str:
    """The log line of a refused candidate (a busy mutex type, as docs/scripts.md says)."""
    holder = f"job {refusal.holder}" if refusal.holder is not None else "another job"
    return (
        f"skipped: {refusal.type} is a mutex type and {holder} is still running "
        f"(`jobyard type set {refusal.type} --no-mutex` allows overlapping runs)"
    )


def lock_id(key: str) -> int:
    """A stable signed 64-bit number for a key (PostgreSQL advisory locks take bigints);
    the same in every process, unlike ``hash()``."""
    digest = hashlib.blake2b(f"jobyard:limit:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
