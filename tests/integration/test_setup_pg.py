"""tools/setup_pg.sh on a fresh server (a private one: the shared server is never touched):
it creates the role and database the tests need, idempotently."""

from __future__ import annotations

import os
import subprocess

import psycopg
import pytest
from tests.faultpg import PrivatePostgres
from tests.helpers import ROOT

pytestmark = [pytest.mark.postgres]


def _setup(server: PrivatePostgres, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JOBYARD_TEST_PG": url, "PGHOST": str(server.socket_dir)}
    return subprocess.run(
        ["bash", "tools/setup_pg.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def _logs_in(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)
    except psycopg.OperationalError:
        return False


@pytest.mark.skipif(os.geteuid() != 0, reason="acts as the postgres OS user: needs root")
def test_setup_creates_role_and_database_idempotently(private_pg: PrivatePostgres) -> None:
    url = f"postgresql://jobyard_ci@127.0.0.1:{private_pg.port}/test_ci"
    assert not _logs_in(url)  # a fresh machine: neither the role nor the database

    first = _setup(private_pg, url)
    assert first.returncode == 0, first.stderr
    assert "role jobyard_ci and database test_ci ready" in first.stdout, first.stdout
    assert _logs_in(url)

    again = _setup(private_pg, url)  # nothing to do: silent, still fine
    assert again.returncode == 0 and again.stdout == "", again.stdout
    assert _logs_in(url)

    with psycopg.connect(private_pg.url(), autocommit=True) as conn:
        conn.execute("ALTER ROLE jobyard_ci NOLOGIN")
    assert not _logs_in(url)
    fixed = _setup(private_pg, url)
    assert fixed.returncode == 0 and "ready" in fixed.stdout, fixed.stdout
    assert _logs_in(url)
    with psycopg.connect(url) as conn:  # the tests create and drop databases with it
        assert conn.execute(
            "SELECT rolcreatedb FROM pg_roles WHERE rolname = current_user"
        ).fetchone() == (True,)


def test_setup_reports_an_unreachable_server_without_failing(tmp_path: object) -> None:
    env = {**os.environ, "JOBYARD_TEST_PG": "postgresql://postgres@127.0.0.1:1/test"}
    env["PGHOST"] = str(tmp_path)  # no socket there either
    done = subprocess.run(
        ["bash", "tools/setup_pg.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    said = done.stdout + done.stderr
    assert "no local server answers on port 1" in said or "cannot act as" in said, said
