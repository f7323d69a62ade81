"""Fixtures for the contract suite: every test here runs once per backend.

- ``store_url``: a fresh, migrated, empty database (SQLite file, or a PostgreSQL clone of a
  migrated template; see tests/pgfixtures.py).
- ``yard``: a :class:`jobyard.Yard` on ``store_url``, closed afterwards.
- ``empty_store_url``: the same with no schema at all (the store creates it on first use).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.pgfixtures import BACKENDS

from jobyard import Yard


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_url(backend: str, tmp_path: Any, request: pytest.FixtureRequest) -> str:
    """A database URL for a fresh store, once per backend."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'jobyard.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def empty_store_url(backend: str, tmp_path: Any, request: pytest.FixtureRequest) -> str:
    """Like ``store_url`` but with no schema yet (the store creates it on first use)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return str(request.getfixturevalue("pg_empty_url"))


@pytest.fixture
def yard(store_url: str) -> Iterator[Yard]:
    y = Yard(store_url)
    try:
        yield y
    finally:
        y.close()
