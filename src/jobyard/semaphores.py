"""Semaphores: named counters a job holds while it runs (issue #12, docs/semaphores.md).

A semaphore has a ``count`` (default 1), a ``scope``: ``global`` (one counter for every
job of every worker) or ``jobset`` (one counter per jobset), and a ``holder``: ``job`` (each
running job takes a slot) or ``jobset`` (a jobset takes one slot for all its running jobs
that name it; a job without a jobset is its own holder). A job names what it needs as
``"db"`` (one slot), ``"db:read"`` (one slot, shared with other readers) or ``"db:write"``
(the whole semaphore: no readers, no other writers). A job type's semaphores are added to
the ones its jobs name. A handler may also hold one around a single call
(``with job.semaphore("db"):``, jobyard.hold; the rows are decided in jobyard.callholds).

Nothing here counts anything: the claim's admission step (:mod:`jobyard.admission`) does,
in the claim's transaction, from the needs stored with each job and the definitions this
module keeps in the store (so every worker, and the server of remote workers, obeys the
same numbers). Site caps (``[sites.NAME] max_jobs``, ``jobyard batch --site-cap``) are
needs of the same kind with their size inline: ``"@site=N"`` and ``"@site/jobset=N"``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from jobyard.errors import ConfigError, InvalidInput
from jobyard.i18n import N_, _
from jobyard.limits import INT32_MAX

if TYPE_CHECKING:
    from jobyard.store import Store

Scope = Literal["global", "jobset"]
SCOPES: tuple[Scope, ...] = ("global", "jobset")
Holder = Literal["job", "jobset"]
HOLDERS: tuple[Holder, ...] = ("job", "jobset")
MODES = ("read", "write")
SITE = "@site"  # "@site=N": at most N jobs at once on the job's site
SITE_JOBSET = "@site/jobset"  # "@site/jobset=N": at most N of the job's jobset on its site
SITES_IN_USE = "@sites"  # a row saying site caps exist, so claims take the admission step
TTL = 5.0  # seconds the stored definitions are cached (another process's change shows after)
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")


@dataclass(frozen=True)
class Semaphore:
    """A semaphore's definition: ``count`` slots, per ``scope``, taken by each ``holder``."""

    name: str
    count: int = 1
    scope: Scope = "global"
    holder: Holder = "job"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "count": self.count, "scope": self.scope, "holder": self.holder}


def parse_name(value: Any, what: str = N_("semaphore name")) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise InvalidInput(
            _(
                "invalid {what} {value!r}: use 1 to 100 letters, digits, '_', '.' or '-'",
                what=_(what),
                value=value,
            )
        )
    return value


def parse_count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= INT32_MAX:
        raise InvalidInput(
            _("{where} must be a whole number >= 1, got {value!r}", where=where, value=value)
        )
    return value


def parse_scope(value: Any, where: str) -> Scope:
    if value not in SCOPES:
        raise InvalidInput(
            _("{where} must be 'global' or 'jobset', got {value!r}", where=where, value=value)
        )
    scope: Scope = value
    return scope


def parse_holder(value: Any, where: str, scope: Scope = "global") -> Holder:
    if value not in HOLDERS:
        raise InvalidInput(
            _("{where} must be 'job' or 'jobset', got {value!r}", where=where, value=value)
        )
    if value == "jobset" and scope == "jobset":
        raise InvalidInput(
            _(
                "{where} 'jobset' needs scope 'global': with scope 'jobset' every jobset "
                "already has a counter of its own",
                where=where,
            )
        )
    holder: Holder = value
    return holder


def split(entry: str) -> tuple[str, str]:
    """``(name, mode)`` of a stored need; mode "" is one plain slot."""
    name, _sep, mode = entry.partition(":")
    return name, mode


def parse_need(value: Any) -> str:
    """A need as a caller writes it, checked: ``NAME``, ``NAME:read`` or ``NAME:write``."""
    if not isinstance(value, str):
        raise InvalidInput(
            _("a semaphore is named by a string like 'db' or 'db:read', got {value!r}", value=value)
        )
    name, mode = split(value.strip())
    parse_name(name)
    if mode and mode not in MODES:
        raise InvalidInput(
            _(
                "semaphore {value!r}: the mode after ':' must be 'read' or 'write', got {mode!r}",
                value=value,
                mode=mode,
            )
        )
    return f"{name}:{mode}" if mode else name


def parse_call(name: Any, mode: Any) -> str:
    """The need of a hold around a call (``job.semaphore(name, mode)``): ``NAME``,
    ``NAME:read`` or ``NAME:write``; mode None is one plain slot."""
    parse_name(name)
    if mode is not None and mode not in MODES:
        raise InvalidInput(
            _("semaphore mode must be 'read', 'write' or None, got {mode!r}", mode=mode)
        )
    return f"{name}:{mode}" if mode else str(name)


def parse_needs(value: Any) -> list[str]:
    """A list of needs (or one string, comma-separated), checked; one per semaphore, the
    strongest mode winning (write over read over a plain slot)."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    if not isinstance(value, list | tuple) or len(value) > 100:
        raise InvalidInput(
            _(
                "semaphores must be a list of names like ['db', 'files:write'], got {value!r}",
                value=value,
            )
        )
    return merge([parse_need(v) for v in value])


_STRENGTH = {"": 0, "read": 1, "write": 2}


def merge(*lists: Iterable[str]) -> list[str]:
    """Needs of several sources (a type's, a job's), one per semaphore (strongest mode)."""
    best: dict[str, str] = {}
    for entries in lists:
        for entry in entries:
            name, mode = split(entry)
            if name.startswith("@"):  # a site cap: "@site=N", the last one given wins
                best[entry.partition("=")[0]] = entry
                continue
            old = best.get(name)
            if old is None or _STRENGTH[mode] > _STRENGTH[split(old)[1]]:
                best[name] = entry
    return [best[k] for k in sorted(best)]


def site_needs(max_jobs: Any = None, site_cap: Any = None) -> list[str]:
    """The needs of a job on a site: the site's ``max_jobs`` (all jobs on it) and its
    batch's ``site_cap`` (jobs of the batch on it)."""
    out = []
    if max_jobs is not None:
        out.append(f"{SITE}={parse_count(max_jobs, 'site max_jobs')}")
    if site_cap is not None:
        out.append(f"{SITE_JOBSET}={parse_count(site_cap, 'site_cap')}")
    return out


def from_config(raw: Any, path: str) -> dict[str, Semaphore]:
    """``[semaphores.NAME]`` tables (keys ``count``, ``scope``, ``holder``); ConfigError
    naming the key."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(
            _("{path}: [semaphores] must hold tables like [semaphores.db]", path=path)
        )
    out = {}
    for name, table in raw.items():
        where = f"{path}: [semaphores.{name}]"
        try:
            parse_name(name)
            if not isinstance(table, dict):
                raise InvalidInput(_("must be a table (count = N, scope = ...)"))
            unknown = set(table) - {"count", "scope", "holder"}
            if unknown:
                keys = ", ".join(sorted(unknown))
                raise InvalidInput(
                    _("unknown key(s) {keys}; known: count, scope, holder", keys=keys)
                )
            count = parse_count(table.get("count", 1), "count")
            scope = parse_scope(table.get("scope", "global"), "scope")
            holder = parse_holder(table.get("holder", "job"), "holder", scope)
        except InvalidInput as exc:
            raise ConfigError(_("{where} {exc}", where=where, exc=exc)) from None
        out[name] = Semaphore(name, count, scope, holder)
    return out


class Semaphores:
    """This process's definitions (config, ``yard.semaphore``) and the store's, which the
    claims obey. ``define`` writes through; ``sync`` writes the local ones (a worker
    registering, an enqueue naming one the store lacks)."""

    def __init__(self, store: Callable[[], Store], local: Mapping[str, Semaphore]) -> None:
        self._store = store
        self.local: dict[str, Semaphore] = dict(local)
        self._stored: tuple[float, dict[str, Semaphore]] = (-TTL, {})
        self._synced = False

    def define(
        self, name: str, count: int = 1, scope: str = "global", holder: str = "job"
    ) -> Semaphore:
        parse_name(name)
        size = parse_count(count, f"semaphore {name!r} count")
        per = parse_scope(scope, f"semaphore {name!r} scope")
        sem = Semaphore(name, size, per, parse_holder(holder, f"semaphore {name!r} holder", per))
        self.local[sem.name] = sem
        self._synced = False
        return sem

    def sync(self) -> None:
        """Write the local definitions to the store (once, until one changes)."""
        if self._synced:
            return
        store = self._store()
        store.upsert_semaphores(list(self.local.values()), time.time())
        self._synced = True
        self.stored(refresh=True)

    def mark_sites(self) -> None:
        """Note in the store that jobs with site caps exist (claims then look for them)."""
        if SITES_IN_USE not in self.stored():
            self._store().upsert_semaphores([Semaphore(SITES_IN_USE, 1)], time.time())
            self.stored(refresh=True)

    def stored(self, refresh: bool = False) -> dict[str, Semaphore]:
        stamp, found = self._stored
        if refresh or time.monotonic() - stamp > TTL:
            found = {s.name: s for s in self._store().list_semaphores()}
            self._stored = (time.monotonic(), found)
        return found

    def effective(self) -> dict[str, Semaphore]:
        """What claims obey: the store's definitions (sites marker included)."""
        if self.local and not self._synced:
            self.sync()
        return self.stored()

    def known(self) -> dict[str, Semaphore]:
        """Named semaphores (no markers), the store's over this process's."""
        merged = {**self.local, **self.stored()}
        return {n: s for n, s in sorted(merged.items()) if not n.startswith("@")}

    def check(self, needs: Iterable[str], what: str, sync: bool = True) -> None:
        """InvalidInput naming the first need whose semaphore is not defined anywhere;
        ``sync``: then make sure the store has the local ones it names (an enqueue)."""
        names = [split(n)[0] for n in needs if not n.startswith("@")]
        missing = [n for n in names if n not in self.local]
        if missing:  # only then the store: a type's check needs no database otherwise
            missing = [n for n in missing if n not in self.stored()]
        if missing:
            missing = [n for n in missing if n not in self.stored(refresh=True)]
        if missing:
            have = ", ".join(self.known()) or _("none")
            raise InvalidInput(
                _(
                    "{what}: unknown semaphore {name!r}; define it with "
                    "[semaphores.{bare}] count = N in jobyard.toml or "
                    "yard.semaphore({name!r}, count=N) (defined: {have})",
                    what=what,
                    name=missing[0],
                    bare=missing[0],
                    have=have,
                )
            )
        if sync and any(n in self.local for n in names):
            self.sync()  # the claims must find it in the store
