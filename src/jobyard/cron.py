"""Cron expressions: 5 fields, 6 fields (seconds first, as Sooner.io), ``@hourly`` aliases."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from jobyard.errors import InvalidInput
from jobyard.i18n import _

ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
    "@minutely": "* * * * *",
}
FIELD_NAMES_5 = ("minute", "hour", "day of month", "month", "day of week")
FIELD_NAMES_6 = ("second", *FIELD_NAMES_5)


def _zone(name: str | None) -> tzinfo:
    if name is None:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            _(
                "unknown time zone {name!r}: use an IANA name such as 'Europe/Paris' or 'UTC'",
                name=name,
            )
        ) from None


def _expand(expr: str) -> tuple[str, bool]:
    text = ALIASES.get(expr.strip().lower(), expr.strip())
    fields = text.split()
    if len(fields) not in (5, 6):
        raise InvalidInput(
            _(
                "invalid cron expression {expr!r}: expected 5 fields (minute hour day month "
                "weekday), 6 with seconds first, or an alias such as @hourly; got {n_fields}",
                expr=expr,
                n_fields=len(fields),
            )
        )
    return text, len(fields) == 6


def validate_cron(expr: str, tz: str | None = None) -> None:
    """Raise InvalidInput naming the bad field if ``expr`` is not a valid schedule."""
    if not isinstance(expr, str):
        raise InvalidInput(_("invalid cron expression {expr!r}: expected a string", expr=expr))
    text, seconds = _expand(expr)
    _zone(tz)
    names = FIELD_NAMES_6 if seconds else FIELD_NAMES_5
    fields = text.split()
    for index, name in enumerate(names):
        probe = ["*"] * len(names)
        probe[index] = fields[index]
        try:
            croniter(" ".join(probe), second_at_beginning=seconds)
        except (ValueError, KeyError) as exc:
            raise InvalidInput(
                _(
                    "invalid cron expression {expr!r}: the {name} field {fields!r} is not valid "
                    "({exc})",
                    expr=expr,
                    name=name,
                    fields=fields[index],
                    exc=exc,
                )
            ) from None
    try:
        croniter(text, second_at_beginning=seconds)
    except (ValueError, KeyError) as exc:
        raise InvalidInput(
            _("invalid cron expression {expr!r}: {exc}", expr=expr, exc=exc)
        ) from None


def next_fire(expr: str, after: float, tz: str | None = None) -> float:
    """The first fire time strictly after ``after`` (epoch seconds; DST as in fire_times).

    Repeats (``Repeat(schedule=...)``) use this and the scheduler uses fire_times: both go
    through _fires, so a daily 02:30 repeat runs once on the fall-back night too."""
    return next(_fires(expr, after, tz))


def _fixed_hour(text: str, seconds: bool) -> bool:
    """True unless the hour field is a plain wildcard (then every real hour counts)."""
    return text.split()[2 if seconds else 1] not in ("*", "*/1")


def _repeated(when: datetime, fixed_hour: bool) -> bool:
    """A wall-clock time's second occurrence (clocks went back) on a fixed-hour schedule."""
    return fixed_hour and when.fold == 1


def fire_times(
    expr: str, after: float, until: float, tz: str | None = None, limit: int = 1000
) -> list[float]:
    """Fire times ``t`` with ``after < t <= until`` (epoch seconds), in order, at most
    ``limit`` of them (the latest ones are dropped).

    Daylight saving time, in the schedule's zone: croniter moves a wall-clock time that does
    not exist (02:30 on the spring-forward day in Europe/Paris) to the first instant after
    the gap (03:00), so it fires once. A wall-clock time that happens twice (the fall-back
    night) would fire twice; when the hour field is fixed the second occurrence is skipped
    here, so a daily 02:30 job runs once. With ``*`` as the hour field both real hours fire.
    """
    found: list[float] = []
    for stamp in _fires(expr, after, tz):
        if stamp > until or len(found) >= limit:
            break
        found.append(stamp)
    return found


def _fires(expr: str, after: float, tz: str | None) -> Iterator[float]:
    """Fire times strictly after ``after``, in order, without a fixed-hour schedule's
    repeated wall-clock time (the one DST rule every caller shares)."""
    text, seconds = _expand(expr)
    zone = _zone(tz)
    fixed = _fixed_hour(text, seconds)
    it = croniter(text, datetime.fromtimestamp(after, tz=zone), second_at_beginning=seconds)
    while True:
        when: datetime = it.get_next(datetime)
        stamp = when.timestamp()
        if stamp > after and not _repeated(datetime.fromtimestamp(stamp, tz=zone), fixed):
            yield stamp


def prev_fire(expr: str, at: float, tz: str | None = None) -> float:
    """The latest fire time at or before ``at`` (epoch seconds; DST as in fire_times)."""
    text, seconds = _expand(expr)
    zone = _zone(tz)
    fixed = _fixed_hour(text, seconds)
    # Fire times are whole seconds: "strictly before floor(at) + 1" is "at or before at".
    start = datetime.fromtimestamp(math.floor(at) + 1, tz=zone)
    it = croniter(text, start, second_at_beginning=seconds)
    while True:
        stamp = it.get_prev(datetime).timestamp()
        if not _repeated(datetime.fromtimestamp(stamp, tz=zone), fixed):
            return float(stamp)
