"""Admission: which of the candidate jobs a claim may take, written once for every backend.

A claim is *candidates → admission → claim*. The store's dialects supply only primitives
(ready candidates per queue in claim order, locked where the database can; the running
count per limited key; mark the admitted ones claimed). This module decides, in pure
functions over those rows, so SQLite and PostgreSQL (and a remote server later) apply the
same rules:

- **priority merge**: candidates of every queue in one order (priority, then ``after``,
  then id), as a single index walk would give them;
- **limits**: a *key* (``type:NAME``; ``semaphore:NAME`` or ``semaphore:NAME@JOBSET``;
  ``site:NAME`` or ``site:NAME@JOBSET``; ``active``, the global cap) has a size, the most
  slots that may be held at once across all workers. A job *needs* several keys, each with
  a weight (one slot; a semaphore's writer needs all of them); it is admitted only when
  every one has room. A writer that waits on a key holds back the candidates after it that
  need the same key, so a stream of readers cannot starve it (a handler waiting for a
  call hold as a writer does too: ``Held.reserved``);
- **holders**: a semaphore's slots are taken by *holders* — a job, or with ``holder =
  "jobset"`` a jobset for all its jobs. A holder holds a key once, with the strongest of
  its needs (and of its jobs' call holds, jobyard.callholds): a job of a jobset that holds
  the key already starts inside that slot at no cost;
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

from jobyard.semaphores import SITE, Semaphore, split

WhenFull = Literal["wait", "skip"]
TYPE_KEY = "type:"
ACTIVE_KEY = "active"  # every running job holds one slot of the global cap (max_active)


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
    jobset: int | None = None
    site: str | None = None
    needs: tuple[str, ...] = ()  # its semaphores and site caps (jobyard.semaphores)

    @property
    def order(self) -> tuple[int, float, int]:
        return (self.priority, self.after, self.id)


@dataclass(frozen=True)
class Need:
    """``weight`` slots of ``key``, which has ``size`` slots in all."""

    key: str
    size: int
    weight: int = 1
    when_full: WhenFull = "wait"
    holder: str | None = None  # who takes the slots ("job12", "jobset7"); None: each need


def cost(need: Need, taken: Mapping[str, Mapping[str, int]]) -> int:
    """Slots ``need`` adds to its key: its weight, less what its holder holds there already."""
    if need.holder is None:
        return need.weight
    return max(0, need.weight - taken.get(need.key, {}).get(need.holder, 0))


@dataclass(frozen=True)
class Held:
    """How many slots of a key running jobs hold now, and one of them (for messages);
    ``holders``: the slots each holder holds (keys whose needs name a holder);
    ``reserved``: a handler waits for a call hold on it as a writer (first in line)."""

    count: int
    example: int | None = None
    holders: Mapping[str, int] = field(default_factory=dict)
    reserved: bool = False


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
    worker knows (``JobType.limit``; a mutex script type is ``Limit(1, "skip")``), the
    semaphores' definitions and the global cap on running jobs (``max_active``)."""

    limits: Mapping[str, Limit] = field(default_factory=dict)
    semaphores: Mapping[str, Semaphore] = field(default_factory=dict)
    max_active: int | None = None

    @property
    def gated(self) -> bool:
        """Whether a claim must look at gated jobs (and count what gates them)."""
        return bool(self.semaphores) or self.max_active is not None

    @classmethod
    def for_types(cls, limits: Mapping[str, Limit]) -> Rules:
        """Rules from per-type limits (``{type name: Limit}``)."""
        return cls({type_key(name): limit for name, limit in limits.items()})

    def keys_of(self, candidate: Candidate) -> tuple[str, ...]:
        """The limited keys of ``limits`` a candidate needs (its type's); a key without a
        limit constrains nothing."""
        key = type_key(candidate.type)
        return (key,) if key in self.limits else ()

    def needs_of(self, candidate: Candidate) -> tuple[Need, ...]:
        """Every slot a candidate needs: its ``limits`` keys, the global cap, its gates."""
        out = [
            Need(k, self.limits[k].size, 1, self.limits[k].when_full)
            for k in self.keys_of(candidate)
            if k in self.limits
        ]
        if self.max_active is not None:
            out.append(Need(ACTIVE_KEY, self.max_active))
        return (*out, *self.gates_of(candidate))

    def gates_of(self, c: Candidate) -> tuple[Need, ...]:
        """The slots of the job's own semaphores and site caps."""
        out = []
        scope = str(c.jobset) if c.jobset is not None else f"job{c.id}"
        for entry in c.needs:
            if entry.startswith("@"):
                kind, _, size = entry.partition("=")
                if c.site is None or not size.isdigit():
                    continue
                key = f"site:{c.site}" if kind == SITE else f"site:{c.site}@{scope}"
                out.append(Need(key, max(1, int(size))))
                continue
            name, mode = split(entry)
            # Checked at enqueue, so defined; if the definition went away, one at a time.
            sem = self.semaphores.get(name) or Semaphore(name)
            key = f"semaphore:{name}" + (f"@{scope}" if sem.scope == "jobset" else "")
            by_set = sem.holder == "jobset" and c.jobset is not None
            holder = f"jobset{c.jobset}" if by_set else f"job{c.id}"
            out.append(Need(key, sem.count, sem.count if mode == "write" else 1, holder=holder))
        return tuple(out)

    def blocked(self, running: Mapping[str, Held]) -> list[str]:
        """Needs no candidate can get now (a global semaphore without a free slot, held by
        jobs: a jobset holder's next jobs join its slot): the store leaves jobs naming them
        out of the candidates."""
        out: list[str] = []
        for name, sem in self.semaphores.items():
            used = running.get(f"semaphore:{name}", Held(0)).count
            if sem.scope == "global" and sem.holder == "job" and used >= sem.count:
                out.extend((name, f"{name}:read", f"{name}:write"))
        return out

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


def held(rules: Rules, jobs: Iterable[Candidate]) -> dict[str, Held]:
    """The slots running gated jobs (and call holds, as candidates) hold, by key: a writer
    holds all of them; a holder holds its strongest need once."""
    plain: dict[str, int] = {}
    taken: dict[str, dict[str, int]] = {}
    example: dict[str, int] = {}
    for job in jobs:
        for need in rules.gates_of(job):
            if need.holder is None:
                plain[need.key] = plain.get(need.key, 0) + need.weight
            else:
                mine = taken.setdefault(need.key, {})
                mine[need.holder] = max(mine.get(need.holder, 0), need.weight)
            example[need.key] = job.id
    return {
        key: Held(plain.get(key, 0) + sum(taken.get(key, {}).values()), job, taken.get(key, {}))
        for key, job in example.items()
    }


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
    start_now: int | None = None,
) -> Verdict:
    """Take up to ``want`` candidates in claim order, each only if every key it needs has
    room for its weight (and then it takes those slots). A candidate met while there is
    capacity but whose key is full is refused if that key ``skip``s, else left ready for a
    later claim; candidates after the ``want``-th admitted one are not looked at. A job
    with needs of its own (semaphores, site caps) is taken only among the first
    ``start_now`` admitted (None: any), the ones its worker starts at once."""
    used = {key: h.count for key, h in running.items()}
    holders = {key: h.example for key, h in running.items()}
    taken = {key: dict(h.holders) for key, h in running.items() if h.holders}
    # Keys a waiting writer is first in line for (a joiner of its holder's slot takes none).
    reserved = {key for key, h in running.items() if h.reserved}
    verdict = Verdict()
    for c in sorted(candidates, key=lambda c: c.order):
        if len(verdict.claim) >= want:
            break  # the rest would not start now either: nothing to decide about them
        if c.needs and start_now is not None and len(verdict.claim) >= start_now:
            continue  # it would wait in a prefetch queue holding its slots: not now
        needs = [(n, cost(n, taken)) for n in rules.needs_of(c)]
        full = [n for n, x in needs if x and (n.key in reserved or used.get(n.key, 0) + x > n.size)]
        if full:
            # It would start now, but a key it needs is taken: it skips (refused for good)
            # if one of the full keys says so, else it waits.
            skipping = [n.key for n in full if n.when_full == "skip"]
            if skipping:
                key = skipping[0]
                verdict.refused.append(Refusal(c.id, c.type, key, holders.get(key)))
            reserved.update(n.key for n in full if n.weight > 1)
            continue
        for n, x in needs:
            used[n.key] = used.get(n.key, 0) + x
            holders[n.key] = c.id
            if n.holder is not None:
                mine = taken.setdefault(n.key, {})
                mine[n.holder] = max(mine.get(n.holder, 0), n.weight)
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
