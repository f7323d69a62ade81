"""Schedules as dependencies (pure): which (step, site) pair waits for which.

See :mod:`jobyard.sites.batch` for what each schedule means.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jobyard.errors import InvalidInput
from jobyard.i18n import _

__all__ = ["SCHEDULES", "Pair", "lower", "max_fail_count", "serial_size"]

SCHEDULES = ("site-sequential", "sequential", "atomic", "parallel")


@dataclass(frozen=True)
class Pair:
    step: int
    action: str
    site: str


def serial_size(value: Any, sites: int) -> int | None:
    if value is None:
        return None
    text = str(value).strip()
    try:
        size = math.ceil(sites * float(text[:-1]) / 100) if text.endswith("%") else int(text)
    except ValueError:
        size = 0
    if size < 1 or isinstance(value, bool):
        raise InvalidInput(
            _("invalid serial {value!r}: give a number of sites >= 1 or N%", value=value)
        )
    return size


def max_fail_count(value: Any, pairs: int) -> int | None:
    if value is None:
        return None
    text = str(value).strip()
    try:
        found = math.floor(pairs * float(text[:-1]) / 100) if text.endswith("%") else int(text)
    except ValueError:
        found = -1
    if found < 0 or isinstance(value, bool):
        raise InvalidInput(_("invalid max_fail {value!r}: give a number >= 0 or N%", value=value))
    return found


def lower(pairs: Sequence[Pair], schedule: str, serial: int | None) -> list[list[int]]:
    """For each pair, the indexes of the pairs it waits for."""
    if schedule not in SCHEDULES:
        raise InvalidInput(
            _(
                "unknown schedule {schedule!r}; use one of {SCHEDULES}",
                schedule=schedule,
                SCHEDULES=", ".join(SCHEDULES),
            )
        )
    if serial is not None and schedule != "site-sequential":
        raise InvalidInput(_("serial (a rolling batch) works with the site-sequential schedule"))
    deps: list[list[int]] = [[] for _unused in pairs]
    if schedule == "atomic":
        for i in range(1, len(pairs)):
            deps[i] = [i - 1]
    elif schedule == "sequential":
        steps = sorted({p.step for p in pairs})
        by_step = {s: [i for i, p in enumerate(pairs) if p.step == s] for s in steps}
        for before, after in itertools.pairwise(steps):
            for i in by_step[after]:
                deps[i] = list(by_step[before])
    elif schedule == "site-sequential":
        sites = list(dict.fromkeys(p.site for p in pairs))
        last: dict[str, int] = {}
        for i, p in enumerate(pairs):
            if p.site in last:
                deps[i] = [last[p.site]]
            last[p.site] = i
        if serial is not None:
            groups = [sites[k : k + serial] for k in range(0, len(sites), serial)]
            first = {p.site: i for i, p in reversed(list(enumerate(pairs)))}
            for prev, group in itertools.pairwise(groups):
                ends = [last[s] for s in prev]
                for site in group:
                    deps[first[site]] = [*deps[first[site]], *ends]
    return deps
