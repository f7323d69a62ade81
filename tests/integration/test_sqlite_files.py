"""SQLite's lock and wake-up files: beside the database, owned by its owner, never a
reason to hang, and nothing left in the shared temp dir."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from jobyard import Yard
from jobyard.errors import DatabaseError

NOBODY = 65534


def temp_leftovers() -> set[str]:
    return {n for n in os.listdir(tempfile.gettempdir()) if n.startswith("jobyard-wake-")}


def test_lock_and_wake_files_live_beside_the_database(tmp_path: Path) -> None:
    before = temp_leftovers()
    db = tmp_path / "jobs.db"
    yard = Yard(f"sqlite:///{db}")
    waiter = yard.store.waiter(["default"])
    try:
        yard.store.notify(["default"])
        assert waiter.wait(2) is True
        lock, wake = Path(f"{db}.lock"), Path(f"{db}.wake")
        assert lock.is_file() and wake.is_dir()
        assert stat.S_IMODE(lock.stat().st_mode) == 0o600
        assert stat.S_IMODE(wake.stat().st_mode) == 0o700
        assert lock.stat().st_uid == db.stat().st_uid == wake.stat().st_uid
        assert len(os.listdir(wake)) == 1
    finally:
        waiter.close()
        yard.close()
    assert not Path(f"{db}.wake").exists()  # the last waiter removed its socket and folder
    assert temp_leftovers() == before


def test_a_database_with_a_long_path_still_wakes(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    yard = Yard(f"sqlite:///{deep / 'jobs.db'}")
    waiter = yard.store.waiter(["default"])
    try:
        other = Yard(f"sqlite:///{deep / 'jobs.db'}")  # another store object sends
        other.store.notify(["default"])
        assert waiter.wait(2) is True
        other.close()
    finally:
        waiter.close()
        yard.close()


def test_a_memory_database_makes_no_files_and_still_wakes() -> None:
    before = temp_leftovers()
    yard = Yard("sqlite://:memory:")
    waiter = yard.store.waiter(["default"])
    try:
        assert waiter.wait(0.01) is False
        threading.Timer(0.05, yard.store.notify, [["default"]]).start()
        assert waiter.wait(2) is True
    finally:
        waiter.close()
        yard.close()
    assert temp_leftovers() == before


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to plant another user's file")
def test_a_lock_file_planted_by_another_user_is_refused_not_waited_on(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    Yard(f"sqlite:///{db}").close()  # the database exists, owned by us
    lock = Path(f"{db}.lock")
    lock.unlink(missing_ok=True)
    lock.write_text("")
    os.chown(lock, NOBODY, NOBODY)
    lock.chmod(0o644)
    # what the attacker would do: hold the lock forever
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl,sys,time; f=open(sys.argv[1]); "
            "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)",
            str(lock),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        started = time.monotonic()
        yard = Yard(f"sqlite:///{db}")
        with pytest.raises(DatabaseError) as caught:
            yard.store.execute("list_workers")  # any first use opens the lock file
        assert time.monotonic() - started < 5
        message = str(caught.value)
        assert "refusing the lock file" in message and f"uid {NOBODY}" in message
        assert "\n" not in message
        yard.close()
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to plant another user's folder")
def test_a_wake_folder_planted_by_another_user_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    yard = Yard(f"sqlite:///{db}")
    try:
        yard.store.execute("list_workers")
        wake = Path(f"{db}.wake")
        wake.mkdir()
        os.chown(wake, NOBODY, NOBODY)
        with pytest.raises(DatabaseError, match="refusing the wake-up folder"):
            yard.store.waiter(["default"])
    finally:
        yard.close()


def test_a_lock_held_longer_than_the_timeout_is_an_error_within_it(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    yard = Yard(f"sqlite:///{db}")
    yard.store.execute("list_workers")  # creates the database and its lock file
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl,sys,time; f=open(sys.argv[1]); "
            "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)",
            f"{db}.lock",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        yard.store.busy_timeout = 0.5
        started = time.monotonic()
        with (
            pytest.raises(DatabaseError, match=r"is locked: no write lock after 0\.5 s"),
            yard.store.transaction(),
        ):
            pass
        assert 0.45 < time.monotonic() - started < 3
    finally:
        holder.kill()
        holder.wait()
    with yard.store.transaction():  # free again: writers go on
        pass
    yard.close()
