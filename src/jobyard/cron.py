"""Cron expressions: 5 fields, 6 fields (seconds first, as Sooner.io), ``@hourly`` aliases."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from jobyard.errors import InvalidInput

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
            f"unknown time zone {name!r}: use an IANA name such as 'Europe/Paris' or 'UTC'"
        ) from None


def _expand(expr: str) -> tuple[str, bool]:
    text = ALIASES.get(expr.strip().lower(), expr.strip())
    fields = text.split()
    if len(fields) not in (5, 6):
        raise InvalidInput(
            f"invalid cron expression {expr!r}: expected 5 fields (minute hour day month "
            f"weekday), 6 with seconds first, or an alias such as @hourly; got {len(fields)}"
        )
    return text, len(fields) == 6


def validate_cron(expr: str, tz: str | None = None) -> None:
    """Raise InvalidInput naming the bad field if ``expr`` is not a valid schedule."""
    if not isinstance(expr, str):
        raise InvalidInput(f"invalid cron expression {expr!r}: expected a string")
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
                f"invalid cron expression {expr!r}: the {name} field {fields[index]!r} "
                f"is not valid ({exc})"
            ) from None
    try:
        croniter(text, second_at_beginning=seconds)
    except (ValueError, KeyError) as exc:
        raise InvalidInput(f"invalid cron expression {expr!r}: {exc}") from None


def next_fire(expr: str, after: float, tz: str | None = None) -> float:
    """The first fire time strictly after ``after`` (epoch seconds)."""
    text, seconds = _expand(expr)
    start = datetime.fromtimestamp(after, tz=_zone(tz))
    it = croniter(text, start, second_at_beginning=seconds)
    result: datetime = it.get_next(datetime)
    return result.timestamp()
