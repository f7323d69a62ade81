"""Pure model code: priorities, retry/repeat validation, timestamps, cron."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from jobyard import InvalidInput, Repeat, Retry
from jobyard.cron import next_fire, validate_cron
from jobyard.model import FOREVER, parse_priority, retry_delay, to_timestamp


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("low", 10),
        ("normal", 0),
        ("medium", -5),
        ("high", -10),
        ("critical", -15),
        (7, 7),
        ("-3", -3),
        (" HIGH ", -10),
    ],
)
def test_priorities(given: object, expected: int) -> None:
    assert parse_priority(given) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["urgent", 1.5, None, True, "1e3x"])
def test_bad_priorities(bad: object) -> None:
    with pytest.raises(InvalidInput, match="invalid priority"):
        parse_priority(bad)  # type: ignore[arg-type]


def test_retry_counts() -> None:
    assert Retry(3).normalized().retries == 3
    assert Retry("forever").normalized().retries == FOREVER
    assert Retry(math.inf).normalized().retries == FOREVER
    for bad in (-1, 1.5, "lots", True):
        with pytest.raises(InvalidInput, match="retries"):
            Retry(bad).normalized()  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="backoff"):
        Retry(1, backoff="linear").normalized()  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="retry wait"):
        Retry(1, wait=-1).normalized()


def test_retry_delays() -> None:
    assert [retry_delay(5, "constant", n) for n in (1, 2, 3)] == [5, 5, 5]
    assert [retry_delay(5, "exponential", n) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]


def test_repeat_rules() -> None:
    assert Repeat(2, wait=1).normalized().repeats == 2
    assert Repeat().normalized().repeats == FOREVER
    assert Repeat(schedule="@hourly").normalized().wait is None
    with pytest.raises(InvalidInput, match="either wait or schedule"):
        Repeat(1, wait=1, schedule="* * * * *").normalized()
    with pytest.raises(InvalidInput, match="unknown repeat option"):
        Repeat.coerce({"every": 3})


def test_timestamps() -> None:
    assert (
        to_timestamp("2026-01-01T00:00:00Z", "after")
        == datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    )
    assert to_timestamp(12.5, "after") == 12.5
    with pytest.raises(InvalidInput, match="ISO 8601"):
        to_timestamp("soon", "after")
    with pytest.raises(InvalidInput):
        to_timestamp(float("nan"), "after")


def test_cron_fields_and_aliases() -> None:
    base = datetime(2026, 1, 1, 10, 7, 30, tzinfo=UTC).timestamp()
    assert next_fire("0 * * * *", base) == base - 7 * 60 - 30 + 3600
    assert next_fire("@hourly", base) == next_fire("0 * * * *", base)
    assert next_fire("*/10 * * * * *", base) == base + 10  # seconds first, as Sooner.io
    paris = next_fire("0 12 * * *", base, "Europe/Paris")
    assert datetime.fromtimestamp(paris, UTC).hour == 11
    with pytest.raises(InvalidInput, match="the hour field '25'"):
        validate_cron("0 25 * * *")
    with pytest.raises(InvalidInput, match="the second field '61'"):
        validate_cron("61 * * * * *")
    with pytest.raises(InvalidInput, match="expected 5 fields"):
        validate_cron("* * *")
    with pytest.raises(InvalidInput, match="unknown time zone"):
        validate_cron("* * * * *", "Mars/Olympus")
