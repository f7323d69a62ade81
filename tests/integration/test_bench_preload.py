"""bench/preload_drain.py (issue #13: drain and enqueue with a big history) as the lead runs
it, with a tiny history: a subprocess, real `jobyard worker` processes, real SQLite and
PostgreSQL. The report it writes has every figure of both backends, the history is really
in the tables, its databases are gone afterwards, and a busy machine gets no report."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from tests.pgfixtures import PG_ADMIN_URL

ROOT = Path(__file__).resolve().parents[2]
TINY = ("--history", "2000", "--jobs", "500", "--single", "100", "--rounds", "1")
FIGURES = {
    "drain": "drain (jobs/s)",
    "bulk": "bulk enqueue (jobs/s)",
    "single": "single enqueue (calls/s)",
}


def run_bench(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(ROOT / "bench" / "preload_drain.py"), *TINY, "--settle", "0"]
    return subprocess.run(
        [*cmd, "--report-dir", str(tmp_path), "--pg", PG_ADMIN_URL, *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.xdist_group("bench")
def test_tiny_history_writes_the_report_with_every_figure(
    tmp_path: Path, pg_admin: psycopg.Connection[Any]
) -> None:
    # 100%: no machine can be busier, so the run counts as fair whatever else runs here.
    proc = run_bench(tmp_path, "--busy-percent", "100")
    assert proc.returncode == 0, proc.stderr[-3000:]
    (md,) = tmp_path.glob("bigtables-*.md")
    (js,) = tmp_path.glob("bigtables-*.json")
    assert md.stem == js.stem
    text, data = md.read_text(), json.loads(js.read_text())
    assert data["fair"] is True and "NOT FAIR" not in text
    assert data["command"].startswith("python bench/preload_drain.py --history 2000")
    assert f"Command: `{data['command']}`" in text
    assert data["machine"]["cores"] >= 1 and data["machine"]["ram_gb"] > 0
    for package in ("jobyard", "psycopg", "sqlite", "postgresql"):
        assert data["versions"][package], package
        assert f"{package} {data['versions'][package]}" in text
    assert "history written in" in proc.stderr  # how long the fill took, for the lead
    assert [b["backend"] for b in data["backends"]] == ["sqlite", "postgres"]
    for b in data["backends"]:
        name = b["backend"]
        empty, history = b["conditions"]["empty"], b["conditions"]["history"]
        # The history is there, analysed, with its logs and events; the empty one is empty.
        seen = history["before"]["tables"]
        # jobyard's own retention pass ran first: all but the newest hour of the history
        # (and the newest job row) moved to the archive; the rest stayed in jobs.
        archived = b["retention"]["history"]["archived"]
        assert seen["jobs_archive"]["rows"] == archived and 1900 < archived < 2000, name
        assert seen["jobs"]["rows"] + archived == 2000, name
        assert b["retention"]["empty"]["archived"] == 0, name
        assert f"- {name}: jobyard's retention pass" in text
        assert f"{archived:,} jobs archived" in text
        assert 1000 < seen["job_logs"]["rows"] < 2000, name  # ~0.7 lines a job
        assert 0 < seen["job_events"]["rows"] <= 3 * 2000, name
        assert history["before"]["analyzed"] is True, name
        assert all(t["rows"] == 0 for t in empty["before"]["tables"].values()), name
        for table in ("jobs_archive", "job_logs", "job_events"):
            assert seen[table]["bytes"] > empty["before"]["tables"][table]["bytes"], (name, table)
        # Every round's jobs went in: the warm-up's 2 x 50, the single calls and the bulk.
        after = history["after"]["tables"]
        assert after["jobs"]["rows"] + after["jobs_archive"]["rows"] == 2000 + 700, name
        assert empty["after"]["tables"]["jobs"]["rows"] == 100 + 100 + 500, name
        assert f"| {name} | history | {seen['jobs']['rows']:,} (" in text
        for key, label in FIGURES.items():
            for condition in (empty, history):
                (value,) = condition[key]["runs"]
                assert value > 0 and condition[key]["median"] == value, (name, key)
            ratio = b["ratios"][key]
            assert math.isclose(ratio["ratio"], history[key]["median"] / empty[key]["median"])
            assert ratio["verdict"] == ("PASS" if ratio["ratio"] >= 0.8 else "MISS")
            row = (
                f"| {name} | {label} | {empty[key]['median']:,.0f} | {history[key]['median']:,.0f}"
            )
            assert f"{row} | {ratio['ratio']:.2f} | **{ratio['verdict']}** |" in text
        # Its own databases, gone after the run.
        if name == "sqlite":
            assert not any(Path(p).exists() for p in b["databases"].values())
        else:
            names = list(b["databases"].values())
            assert all(n.startswith("bench_bigtables_") for n in names)
            left = pg_admin.execute(
                "SELECT datname FROM pg_database WHERE datname = ANY(%s)", [names]
            ).fetchall()
            assert left == []
    samples = data["load"]["samples"]
    assert [s["system"] for s in samples] == [
        "sqlite empty 1",
        "sqlite history 1",
        "postgres empty 1",
        "postgres history 1",
    ]
    for title in ("## A big history: 2,000 finished jobs", "### What the tables held", "### Load"):
        assert title in text


@pytest.mark.slow
@pytest.mark.xdist_group("bench")
def test_a_busy_machine_gets_no_report(tmp_path: Path) -> None:
    # A negative threshold makes every sample busy: the guard must refuse at once.
    proc = run_bench(tmp_path, "--backends", "sqlite", "--busy-percent", "-1", "--busy-wait", "0")
    assert proc.returncode == 4, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("NOT REPORTING: machine busy before sqlite empty 1"), last
    assert "--force" in last and "Traceback" not in proc.stderr
    assert not list(tmp_path.glob("bigtables-*"))


def test_bad_options_are_one_clear_line(tmp_path: Path) -> None:
    for extra, message in (
        (("--backends", "sqlite,mysql"), "unknown backend mysql; known: sqlite, postgres"),
        (("--rounds", "0"), "--rounds must be at least 1"),
    ):
        proc = run_bench(tmp_path, *extra)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
    assert not list(tmp_path.glob("bigtables-*"))
