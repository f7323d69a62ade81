"""AnyJob's face from the command line: node workers (`jobyard worker --node NAME`),
`jobyard submit TYPE n1,n2 name=value --wait` making a jobset, `jobyard jobset show`,
typed parameters from text, `jobyard job redirect`, an abstract type over every node."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ROOT, cli_env, run_cli

pytestmark = [pytest.mark.slow]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    e = cli_env(tmp_path / "nodes.db", "tests.e2e.nodes_app")
    assert run_cli(e, "db", "migrate").returncode == 0
    yield e


def node_worker(env: dict[str, str], node: str) -> subprocess.Popen[Any]:
    return subprocess.Popen(
        [sys.executable, "-m", "jobyard", "worker", "--node", node, "-n", f"w-{node}"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_submit_on_nodes_waits_for_each_and_shows_the_jobset(env: dict[str, str]) -> None:
    workers = [node_worker(env, n) for n in ("web1", "web2")]
    try:
        out = run_cli(env, "submit", "restart", "web1,web2", "service=007", "count=3", "--wait")
        assert out.returncode == 0, out.stderr
        jobset = int(out.stdout.strip())
        assert "web1: completed" in out.stderr and "web2: completed" in out.stderr
        shown = json.loads(run_cli(env, "jobset", "show", str(jobset), "--json").stdout)
        assert [j["node"] for j in shown["jobs"]] == ["web1", "web2"]
        assert shown["counts"]["completed"] == 2 and shown["done"] is True
        # "007" stayed text for a str parameter; "3" became a number for an int one
        assert all(j["result"]["service"] == "007" for j in shown["jobs"])
        assert all(j["result"]["count"] == 3 for j in shown["jobs"])
        table = run_cli(env, "jobset", "show", str(jobset))
        assert "web1" in table.stdout and "completed" in table.stdout
        # one node: a plain job, its id printed
        one = run_cli(env, "submit", "restart", "web2", "service=ssh", "--wait")
        assert one.returncode == 0, one.stderr
        # the abstract type runs on every node a worker serves
        every = run_cli(env, "submit", "restart_all", "service=cron", "--wait")
        assert every.returncode == 0, every.stderr
        got = json.loads(run_cli(env, "jobset", "show", every.stdout.strip(), "--json").stdout)
        assert sorted(j["node"] for j in got["jobs"]) == ["web1", "web2"]
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(30)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["restart", "web1", "count=3"], "needs parameter 'service'"),
        (["restart", "web1", "service=x", "count=three"], "'count': must be a whole number"),
        (["restart", "web1", "service=x", "forse=1"], "no parameter 'forse'"),
        (["restart", "a,b,c,d,e", "service=x"], "at most 4 node"),
        (["restart", "web1,web1", "service=x"], "more than once"),
        (["restart", "service=x", "web1"], "nodes come first"),
    ],
)
def test_bad_submissions_are_one_line_exit_2(
    env: dict[str, str], args: list[str], message: str
) -> None:
    out = run_cli(env, "submit", *args)
    assert out.returncode == 2, out.stderr
    assert message in out.stderr and out.stderr.count("\n") == 1, out.stderr
    assert json.loads(run_cli(env, "jobs", "--json").stdout) == []


def test_redirect_and_types_listing(env: dict[str, str]) -> None:
    out = run_cli(env, "submit", "restart", "web1", "service=x")
    job_id = out.stdout.strip()
    moved = run_cli(env, "job", "redirect", job_id, "web5")
    assert moved.returncode == 0 and "node web5" in moved.stdout, moved.stderr
    shown = json.loads(run_cli(env, "job", "show", job_id, "--json").stdout)
    assert shown["queue"] == "node:web5"
    types = run_cli(env, "types")
    assert "service: str" in types.stdout and "count: int = 1" in types.stdout
