"""``emit``, ``events``, ``schedules``, ``collections`` and the scheduler, as real commands."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from jobyard import Yard
from tests.helpers import cli_env, run_cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path / "cli.db", "tests.e2e.events_app")


run = run_cli


def test_emit_prints_job_ids_and_events_lists_the_log(env: dict[str, str]) -> None:
    out = run(env, "emit", "deploy", "--data", '{"version": "1.2"}')
    assert out.returncode == 0, out.stderr
    (job_id,) = out.stdout.split()
    shown = json.loads(run(env, "job", "show", job_id, "--json").stdout)
    assert shown["type"] == "notify" and shown["data"] == {"version": "1.2"}
    assert shown["props"] == {"event": "deploy", "depth": 1}
    quiet = run(env, "emit", "nobody.listens")
    assert quiet.returncode == 0 and quiet.stdout == ""
    assert "no type listens on 'nobody.listens'" in quiet.stderr
    logged = json.loads(run(env, "events", "--json").stdout)
    assert [(e["name"], e["jobs"]) for e in logged] == [
        ("deploy", [int(job_id)]),
        ("nobody.listens", []),
    ]
    assert logged[0]["data"] == {"version": "1.2"} and logged[0]["time"].endswith("+00:00")
    only = json.loads(run(env, "events", "--name", "deploy", "--json").stdout)
    assert [e["name"] for e in only] == ["deploy"]
    table = run(env, "events", "--limit", "1").stdout
    assert "nobody.listens" in table and "deploy" not in table


def test_events_follow_prints_job_transitions(env: dict[str, str]) -> None:
    yard = Yard(env["JOBYARD_DB"])
    yard.job(name="notify")(lambda job, **data: data)
    job = yard.enqueue("notify")
    now = time.time()
    (claimed,) = yard.store.claim("w", "r", ["default"], ["notify"], 1, now, now + 30)
    yard.cancel(job.id)  # a running job cancelled: one more transition
    yard.close()
    out = run(env, "events", "--follow", "--after", "0", "--json", "--max", "3")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(e["name"], e["job"], e["type"]) for e in lines] == [
        ("job.created", job.id, "notify"),
        ("job.started", job.id, "notify"),
        ("job.cancelled", job.id, "notify"),
    ]
    text = run(env, "events", "--follow", "--after", "0", "--name", "job.cancelled", "--max", "1")
    assert f"job.cancelled job {job.id} (notify)" in text.stdout
    assert claimed.id == job.id


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["emit", "deploy", "--data", "{oops"], "--data is not valid JSON"),
        (["emit", " "], "an event needs a non-empty name"),
        (["events", "--limit", "0"], "Invalid value for '--limit'"),
        (["events", "--follow", "--after", "99999999999999999999"], "Invalid value for '--after'"),
        (["events", "--after", "3"], "--after goes with --follow"),
        (["jobs", "--limit", "0"], "Invalid value for '--limit'"),
        (["collection", "c", "--limit", "-1"], "Invalid value for '--limit'"),
        (["collection", "c", "--offset", "-1"], "Invalid value for '--offset'"),
        (["collection", "c", "--where", "a b=1"], "invalid data field 'a b'"),
        (["collection", "c", "--where", "noequals"], "bad --where 'noequals': give field=value"),
        (["collection", "c", "--where", "n=NaN"], "--where n"),
        (["collection", "c", "--order-by", "x;y"], "invalid data field 'x;y'"),
        (["collection", "bad name"], "invalid collection name"),
    ],
)
def test_bad_input_is_one_line_exit_2(env: dict[str, str], args: list[str], message: str) -> None:
    out = run(env, *args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert message in out.stderr and "Traceback" not in out.stderr


def test_collections_and_collection_pages(env: dict[str, str]) -> None:
    yard = Yard(env["JOBYARD_DB"])
    people = yard.collection("people")
    ids = [people.insert({"name": n, "n": i}).id for i, n in enumerate("abcde")]
    people.update(ids[1], status="done")
    yard.collection("urls").insert("https://example.org")
    yard.close()
    listed = json.loads(run(env, "collections", "--json").stdout)
    assert listed == [
        {"name": "people", "items": 5, "statuses": {"done": 1, "new": 4}},
        {"name": "urls", "items": 1, "statuses": {"new": 1}},
    ]
    assert "people" in run(env, "collections").stdout
    page = json.loads(
        run(
            env,
            "collection",
            "people",
            "--status",
            "new",
            "--limit",
            "2",
            "--offset",
            "1",
            "--json",
        ).stdout
    )
    assert [i["id"] for i in page] == [ids[2], ids[3]]
    found = json.loads(run(env, "collection", "people", "--where", "name=e", "--json").stdout)
    assert [i["data"] for i in found] == [{"name": "e", "n": 4}]
    highest = json.loads(
        run(env, "collection", "people", "--order-by", "n", "--limit", "1", "--json").stdout
    )
    assert highest[0]["id"] == ids[4]  # the last of the order, as every --limit
    table = run(env, "collection", "people", "--limit", "2")
    assert table.returncode == 0 and '"name": "e"' in table.stdout
    assert '"name": "a"' not in table.stdout
    assert "4-5 of 5 items" in table.stderr


def test_limit_means_the_most_recent_n_newest_last_everywhere(env: dict[str, str]) -> None:
    # One meaning for jobs, events and collection (jobyard.cli.listing): the N most recent
    # rows, printed oldest first. jobs printed newest first, collection the oldest N.
    yard = Yard(env["JOBYARD_DB"])

    @yard.job
    def notify(job):  # type: ignore[no-untyped-def]
        return None

    jobs = [yard.enqueue("notify", paused=True).id for _ in range(4)]
    items = [yard.collection("c").insert({"n": i}).id for i in range(4)]
    yard.close()
    for name in ("e1", "e2", "e3", "e4"):
        assert run(env, "emit", name).returncode == 0

    def shown(*args: str) -> list[Any]:
        out = run(env, *args, "--limit", "2", "--json")
        assert out.returncode == 0, out.stderr
        return list(json.loads(out.stdout))

    assert [j["id"] for j in shown("jobs")] == jobs[2:]
    assert [e["name"] for e in shown("events")] == ["e3", "e4"]
    assert [i["id"] for i in shown("collection", "c")] == items[2:]
    assert [i["id"] for i in shown("collection", "c", "--offset", "1")] == items[1:3]
    table = run(env, "jobs", "--limit", "2").stdout.splitlines()
    assert [line.split()[0] for line in table[1:]] == [str(jobs[2]), str(jobs[3])]


def test_schedules_lists_the_scheduled_types(env: dict[str, str]) -> None:
    rows = json.loads(run(env, "schedules", "--json").stdout)
    assert [(r["type"], r["schedule"], r["catchup"], r["last"]) for r in rows] == [
        ("heartbeat", "*/1 * * * * *", "skip", None)
    ]
    assert rows[0]["next"] is not None


def test_three_scheduler_processes_fire_each_second_once(env: dict[str, str]) -> None:
    assert run(env, "db", "migrate").returncode == 0
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "jobyard", "scheduler"],
            env=env,
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    try:
        time.sleep(4.0)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        errors = [p.communicate(timeout=30)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    assert not any("scheduler:" in e for e in errors), errors
    yard = Yard(env["JOBYARD_DB"])
    jobs = yard.jobs(type="heartbeat", limit=None)
    yard.close()
    stamps = sorted(datetime.fromisoformat(j.props["tick"]).timestamp() for j in jobs)
    assert len(stamps) >= 2
    assert stamps == [stamps[0] + i for i in range(len(stamps))]  # one job a second, no gap
