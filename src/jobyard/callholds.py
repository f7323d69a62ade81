"""Call holds: a semaphore held around a single call of a handler (``with
job.semaphore("db"):``, :mod:`jobyard.hold`), decided once for every backend.

A call hold is a row tied to its job and the job's run id: it counts only while that job
is running under that run. So it is freed when the ``with`` block exits (the row is
deleted) and, with no row that must be cleaned up first, whenever the job leaves running:
an outcome, a cancel, a hand-back, a lease rescue after a kill -9. The claim's admission
step counts the granted call holds with the running jobs' slots (:func:`counted`), and a
call asks for its slot against the same counts (:func:`refusal`): these pure functions
decide, the store supplies the rows (jobyard.store.holds).

A waiting call is a row too (``granted`` false): ``jobyard semaphores`` lists it, and a
call waiting as a writer is first in line for its key, so neither claims nor later calls
of readers overtake it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from jobyard.admission import Candidate, Held, Need, Rules, cost, held


@dataclass(frozen=True)
class CallHold:
    """One ``job.semaphore(name, mode)`` of a running job: waiting, or ``granted``."""

    token: str  # chosen by the caller, so that a retried request names the same hold
    job: int
    name: str
    mode: str = ""  # "" (one slot), "read" or "write"
    granted: bool = False
    since: float = 0.0  # when it first asked (the order waiting calls are served in)
    jobset: int | None = None  # its job's

    @property
    def entry(self) -> str:
        """The need as a job names it (jobyard.semaphores): ``db``, ``db:write``."""
        return f"{self.name}:{self.mode}" if self.mode else self.name

    @property
    def order(self) -> tuple[float, str]:
        return (self.since, self.token)

    def candidate(self) -> Candidate:
        """The hold as admission reads a running job: its job's id and jobset, one need."""
        return Candidate(0, self.since, self.job, "", jobset=self.jobset, needs=(self.entry,))


def _writers(rules: Rules, waiting: Iterable[CallHold]) -> set[tuple[str, str | None]]:
    """(key, holder) of every waiting call that wants more than one slot (a writer)."""
    return {
        (need.key, need.holder)
        for call in waiting
        for need in rules.gates_of(call.candidate())
        if need.weight > 1
    }


def counted(
    rules: Rules, running: Iterable[Candidate], calls: Iterable[CallHold]
) -> dict[str, Held]:
    """What a claim counts: the slots of the running gated jobs and of the granted call
    holds, by key; a key a waiting call writer is first in line for is ``reserved``."""
    calls = list(calls)
    out = held(rules, [*running, *(c.candidate() for c in calls if c.granted)])
    for key, _holder in _writers(rules, (c for c in calls if not c.granted)):
        out[key] = replace(out.get(key, Held(0)), reserved=True)
    return out


def refusal(
    rules: Rules, running: Sequence[Candidate], calls: Sequence[CallHold], mine: CallHold
) -> Need | None:
    """None when ``mine`` may take its slot now, else the need that is full. Counted
    against it: the running jobs' slots and the other granted call holds (its own job's
    count once: a job holding ``db`` already takes ``db`` again at no cost); a call of
    another holder that waits before it as a writer on the same key goes first."""
    others = [c for c in calls if c.token != mine.token]
    slots = held(rules, [*running, *(c.candidate() for c in others if c.granted)])
    ahead = _writers(rules, (c for c in others if not c.granted and c.order < mine.order))
    taken = {key: h.holders for key, h in slots.items()}
    for need in rules.gates_of(mine.candidate()):
        extra = cost(need, taken)
        first = any(key == need.key and who != need.holder for key, who in ahead)
        if extra and (first or slots.get(need.key, Held(0)).count + extra > need.size):
            return need
    return None
