"""Fixtures for every test layer. tests/contract overrides ``yard`` to cover every backend."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobyard import Yard


def pytest_configure(config: pytest.Config) -> None:
    # The suite runs as root in its sandbox, and a root worker refuses to run scripts and
    # local shells as root unless allowed (jobyard.runas): allowed here, for every worker
    # the tests start (CLI subprocesses inherit it). tests/e2e/test_run_as.py takes it
    # away to test the refusal itself.
    os.environ.setdefault("JOBYARD_ALLOW_ROOT", "1")


@pytest.fixture
def yard(tmp_path: Path) -> Iterator[Yard]:
    y = Yard(f"sqlite:///{tmp_path / 'jobyard.db'}")
    yield y
    y.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'jobyard.db'}"


pytest_plugins = ["tests.pgfixtures", "tests.faultpg", "tests.e2e.webui", "tests.sshd"]


@pytest.fixture
def postgres_url(pg_url: str) -> str:
    """A fresh, migrated PostgreSQL database (skipped locally without a server; CI fails)."""
    return pg_url
