"""``jobyard job OPERATION`` with id lists and filters: all ids exist or nothing changes,
passed-over jobs are named, a typo in --type is an error, bulk rerun is one step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobyard import Yard
from tests.helpers import cli_env, run_cli

run = run_cli


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path / "cli.db", "tests.e2e.cli_app")


def statuses(env: dict[str, str]) -> dict[int, str]:
    return {j["id"]: j["status"] for j in json.loads(run(env, "jobs", "--json").stdout)}


def submit(env: dict[str, str], *args: str) -> int:
    out = run(env, "submit", "add", "a=1", "b=2", *args)
    assert out.returncode == 0, out.stderr
    return int(out.stdout)


def completed(env: dict[str, str], n: int) -> list[int]:
    """``n`` completed ``add`` jobs, run by an in-process worker on the same database."""
    yard = Yard(env["JOBYARD_DB"])

    @yard.job
    def add(job, a, b):  # type: ignore[no-untyped-def]
        return a + b

    handles = [add.defer(a=i, b=1) for i in range(n)]
    w = yard.worker().start()
    try:
        for h in handles:
            h.wait(timeout=20)
    finally:
        w.stop()
        yard.close()
    return [h.id for h in handles]


@pytest.mark.parametrize("operation", ["cancel", "pause", "resume", "restart", "rerun", "remove"])
def test_a_missing_id_changes_nothing_exit_2(env: dict[str, str], operation: str) -> None:
    ids = [submit(env, "--paused"), submit(env, "--paused")]
    if operation in ("restart", "remove"):
        assert run(env, "job", "cancel", f"{ids[0]},{ids[1]}").returncode == 0
    before = statuses(env)
    out = run(env, "job", operation, f"{ids[0]},{ids[1]},99999")
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert out.stderr == "jobyard: error: no job with id 99999; nothing was changed\n"
    assert statuses(env) == before  # restart used to change 4 and 5 and drop 99999


def test_passed_over_jobs_are_named(env: dict[str, str]) -> None:
    paused, ready = submit(env, "--paused"), submit(env)
    out = run(env, "job", "resume", f"{paused},{ready}")
    assert out.returncode == 0, out.stderr
    assert out.stdout == (
        f"resume: {paused}; passed over {ready} (ready): resume applies only to paused jobs\n"
    )
    again = json.loads(run(env, "job", "resume", f"{paused},{ready}", "--json").stdout)
    assert again == {"operation": "resume", "ids": [], "skipped": [paused, ready]}


def test_filter_on_an_unknown_type_says_so(env: dict[str, str]) -> None:
    submit(env)
    typo = run(env, "job", "cancel", "--type", "nosuch")
    assert typo.returncode == 2
    assert typo.stderr == "jobyard: error: unknown job type 'nosuch'; known types: add, boom\n"
    none = run(env, "job", "cancel", "--type", "boom")  # a real type with no jobs yet
    assert none.returncode == 0 and none.stdout == "cancel: nothing (no jobs of type boom)\n"
    done = run(env, "job", "restart", "--type", "add", "--status", "failed")
    assert done.stdout == "restart: nothing (no jobs of type add with status failed)\n"


def test_bulk_rerun_by_type_is_one_step_and_passes_over_the_rest(env: dict[str, str]) -> None:
    ids = completed(env, 2)
    paused = submit(env, "--paused")
    out = run(env, "job", "rerun", "--type", "add", "--json")
    assert out.returncode == 0, out.stderr  # was: InvalidTransition after rerunning some
    shown = json.loads(out.stdout)
    assert len(shown["ids"]) == 2 and shown["skipped"] == [paused]
    copies = [json.loads(run(env, "job", "show", str(i), "--json").stdout) for i in shown["ids"]]
    assert sorted(c["data"]["a"] for c in copies) == [0, 1]
    listed = run(env, "job", "rerun", ",".join(map(str, ids)))
    assert listed.returncode == 0 and listed.stdout.startswith("rerun as ")
    assert len(statuses(env)) == 2 + 1 + 2 + 2
