"""Cron ticks with a fake clock: catch-up, clock jumps, DST, validation (no database)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from jobyard import InvalidInput, Yard
from jobyard.config import load_config
from jobyard.cron import fire_times, next_fire, prev_fire, validate_cron
from jobyard.errors import ConfigError
from jobyard.lifecycle import next_repeat_time
from jobyard.model import Job
from jobyard.scheduler import Schedule, due_ticks, settings

PARIS = "Europe/Paris"


def at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def local(stamps: list[float], tz: str = PARIS) -> list[str]:
    return [datetime.fromtimestamp(s, ZoneInfo(tz)).isoformat() for s in stamps]


# -- cron: fields, aliases, seconds -----------------------------------------------------------


def test_six_fields_put_seconds_first() -> None:
    assert fire_times("*/1 * * * * *", 100.0, 103.5) == [101.0, 102.0, 103.0]
    assert fire_times("*/15 * * * * *", 0.0, 60.0) == [15.0, 30.0, 45.0, 60.0]
    assert fire_times("0 * * * * *", 0.0, 180.0) == [60.0, 120.0, 180.0]


def test_aliases_and_five_fields() -> None:
    start = at("2024-05-01T10:20:00+00:00")
    hourly = fire_times("@hourly", start, start + 3 * 3600)
    assert local(hourly, "UTC") == [
        "2024-05-01T11:00:00+00:00",
        "2024-05-01T12:00:00+00:00",
        "2024-05-01T13:00:00+00:00",
    ]
    assert fire_times("@daily", start, start + 86400) == [at("2024-05-02T00:00:00+00:00")]
    assert fire_times("15 10 * * *", start, start + 86400) == [at("2024-05-02T10:15:00+00:00")]


def test_window_is_open_at_start_closed_at_end_and_limited() -> None:
    assert fire_times("*/1 * * * * *", 100.0, 100.0) == []
    assert fire_times("*/1 * * * * *", 99.999, 100.0) == [100.0]
    assert fire_times("*/1 * * * * *", 0.0, 10_000.0, limit=3) == [1.0, 2.0, 3.0]


def test_prev_fire_is_at_or_before() -> None:
    assert prev_fire("*/1 * * * * *", 100.0) == 100.0
    assert prev_fire("*/1 * * * * *", 100.9) == 100.0
    assert prev_fire("@hourly", at("2024-05-01T10:59:59+00:00")) == at("2024-05-01T10:00:00+00:00")
    assert prev_fire("@hourly", at("2024-05-01T11:00:00+00:00")) == at("2024-05-01T11:00:00+00:00")


@pytest.mark.parametrize(
    ("expr", "field"),
    [
        ("61 * * * *", "minute"),
        ("* 25 * * *", "hour"),
        ("* * 32 * *", "day of month"),
        ("* * * 13 *", "month"),
        ("* * * * funday", "day of week"),
        ("99 * * * * *", "second"),
    ],
)
def test_invalid_cron_names_the_field(expr: str, field: str) -> None:
    with pytest.raises(InvalidInput, match=f"the {field} field"):
        validate_cron(expr)


def test_job_type_validates_schedule_timezone_and_catchup(tmp_path: Path) -> None:
    yard = Yard(f"sqlite:///{tmp_path / 'x.db'}")

    def noop(job: object) -> None: ...

    with pytest.raises(InvalidInput, match="the hour field"):
        yard.job(name="a", schedule="0 24 * * *")(noop)
    with pytest.raises(InvalidInput, match="unknown time zone"):
        yard.job(name="b", schedule="@daily", timezone="Mars/Olympus")(noop)
    with pytest.raises(InvalidInput, match="catchup"):
        yard.job(name="c", schedule="@daily", catchup="all")(noop)
    jt = yard.job(name="d", schedule="30 2 * * *", timezone=PARIS, catchup="latest")(noop)
    assert (jt.schedule, jt.timezone, jt.catchup) == ("30 2 * * *", PARIS, "latest")


# -- time zones and daylight saving time ---------------------------------------------------------


def test_spring_forward_daily_0230_fires_once_at_0300() -> None:
    # 2024-03-31 in Paris: 02:00 CET jumps to 03:00 CEST, so 02:30 does not exist.
    # croniter moves it to the first instant after the gap; it fires once, not never/twice.
    ticks = fire_times(
        "30 2 * * *", at("2024-03-30T12:00:00+01:00"), at("2024-04-02T12:00:00+02:00"), PARIS
    )
    assert local(ticks) == [
        "2024-03-31T03:00:00+02:00",
        "2024-04-01T02:30:00+02:00",
        "2024-04-02T02:30:00+02:00",
    ]


def test_fall_back_daily_0230_fires_once_hourly_fires_every_real_hour() -> None:
    # 2024-10-27 in Paris: 03:00 CEST goes back to 02:00 CET, so 02:30 happens twice.
    start, end = at("2024-10-26T12:00:00+02:00"), at("2024-10-28T12:00:00+01:00")
    assert local(fire_times("30 2 * * *", start, end, PARIS)) == [
        "2024-10-27T02:30:00+02:00",
        "2024-10-28T02:30:00+01:00",
    ]
    # croniter alone would fire the daily job twice; next_fire shares the scheduler's rule.
    assert local([next_fire("30 2 * * *", at("2024-10-27T02:31:00+02:00"), PARIS)]) == [
        "2024-10-28T02:30:00+01:00"
    ]
    night = fire_times(
        "0 * * * *", at("2024-10-27T01:30:00+02:00"), at("2024-10-27T03:30:00+01:00"), PARIS
    )
    assert local(night) == [
        "2024-10-27T02:00:00+02:00",
        "2024-10-27T02:00:00+01:00",
        "2024-10-27T03:00:00+01:00",
    ]


def test_cron_repeat_runs_once_on_the_fall_back_night() -> None:
    # 2024-10-27 in Berlin: 03:00 CEST goes back to 02:00 CET. A job repeating daily at
    # 02:30 that just ran at the first 02:30 must next run on the 28th, not an hour later.
    berlin = "Europe/Berlin"
    job = Job(id=1, type="t", repeats=5, repeat_schedule="30 2 * * *", repeat_timezone=berlin)
    ran = [at("2024-10-26T02:30:00+02:00")]
    for _ in range(3):
        due = next_repeat_time(job, ran[-1] + 5.0)  # the run took 5 s
        assert due is not None
        ran.append(due)
    assert local(ran, berlin) == [
        "2024-10-26T02:30:00+02:00",
        "2024-10-27T02:30:00+02:00",
        "2024-10-28T02:30:00+01:00",
        "2024-10-29T02:30:00+01:00",
    ]
    # The same answer as the scheduler's own ticks for that stretch.
    assert fire_times("30 2 * * *", ran[0], ran[-1], berlin) == ran[1:]


def test_time_zone_shifts_the_tick() -> None:
    start = at("2024-07-01T00:00:00+00:00")
    (utc,) = fire_times("0 9 * * *", start, start + 86400)
    (paris,) = fire_times("0 9 * * *", start, start + 86400, PARIS)
    assert utc - paris == 2 * 3600  # 09:00 CEST is 07:00 UTC


# -- due ticks: catch-up policy and clock jumps ---------------------------------------------------

EVERY_SECOND = Schedule("t", "*/1 * * * * *")
HOURLY = Schedule("t", "@hourly")


def test_a_new_schedule_starts_at_most_with_the_latest_tick_of_the_grace_window() -> None:
    assert due_ticks(EVERY_SECOND, None, 1000.5) == [1000.0]
    ten = at("2024-05-01T10:00:00+00:00")
    assert due_ticks(HOURLY, None, ten + 30) == [ten]
    assert due_ticks(HOURLY, None, ten + 600) == []  # 10:00 is past the grace window


def test_short_pause_within_grace_fires_every_tick() -> None:
    assert due_ticks(EVERY_SECOND, 1000.0, 1005.2) == [1001.0, 1002.0, 1003.0, 1004.0, 1005.0]


def test_downtime_skips_missed_ticks_by_default() -> None:
    ten = at("2024-05-01T10:00:00+00:00")
    assert due_ticks(HOURLY, ten, ten + 3.5 * 3600) == []  # 11, 12, 13:00 missed: skipped
    assert due_ticks(HOURLY, ten, ten + 4 * 3600 + 10) == [ten + 4 * 3600]  # 14:00: in grace
    burst = due_ticks(EVERY_SECOND, 0.0, 10_000.0)
    assert burst == [float(t) for t in range(9941, 10_001)]  # only the last 60 s


def test_catchup_latest_runs_the_latest_missed_tick_once() -> None:
    latest = Schedule("t", "@hourly", catchup="latest")
    ten = at("2024-05-01T10:00:00+00:00")
    assert due_ticks(latest, ten, ten + 3.5 * 3600) == [ten + 3 * 3600]
    assert due_ticks(latest, ten + 3 * 3600, ten + 3.6 * 3600) == []  # and only once
    assert due_ticks(latest, ten, ten + 4 * 3600 + 10) == [ten + 4 * 3600]  # nothing extra
    assert due_ticks(latest, None, ten + 0.5 * 3600) == []  # a new schedule missed nothing


def test_never_early_and_never_at_or_before_the_last_tick() -> None:
    assert due_ticks(EVERY_SECOND, 1000.0, 1000.999) == []
    assert due_ticks(EVERY_SECOND, 1000.0, 1001.0) == [1001.0]
    # The clock went back 30 s after tick 1000: nothing fires until it passes 1000 again.
    assert due_ticks(EVERY_SECOND, 1000.0, 970.0) == []
    assert due_ticks(EVERY_SECOND, 1000.0, 1000.0) == []
    assert due_ticks(EVERY_SECOND, 1000.0, 1001.5) == [1001.0]
    # The clock jumped forward an hour: at most the grace window fires, not 3600 ticks.
    assert len(due_ticks(EVERY_SECOND, 1000.0, 4600.0)) == 60


# -- configuration -------------------------------------------------------------------------------


def test_scheduler_section_of_the_config(tmp_path: Path) -> None:
    path = tmp_path / "jobyard.toml"
    path.write_text('[scheduler]\ncatchup = "latest"\ngrace = 5\n')
    yard = Yard(config=load_config(str(path), db=f"sqlite:///{tmp_path / 'x.db'}"))
    assert settings(yard) == ("latest", 5.0)
    path.write_text('[scheduler]\ncatchup = "everything"\n')
    yard = Yard(config=load_config(str(path), db=f"sqlite:///{tmp_path / 'x.db'}"))
    with pytest.raises(ConfigError, match="catchup must be one of skip, latest"):
        settings(yard)
    path.write_text("[scheduler]\ngrace = 0\n")
    yard = Yard(config=load_config(str(path), db=f"sqlite:///{tmp_path / 'x.db'}"))
    with pytest.raises(ConfigError, match="grace must be seconds >= 1"):
        settings(yard)
    assert settings(Yard(f"sqlite:///{tmp_path / 'x.db'}")) == ("skip", 60.0)
