"""bench/run.py, the fair harness, in quick mode as the user runs it: a subprocess, real
workers (jobyard and Huey), real Redis; the report it writes has every part the lead quotes,
and the busy-machine guard refuses to report (or, forced, marks the report NOT FAIR)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bench")]


def run_bench(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--lock-wait", "60"]
    return subprocess.run(
        [*cmd, "--report-dir", str(tmp_path), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def the_report(tmp_path: Path) -> tuple[str, dict[str, Any]]:
    (md,) = tmp_path.glob("fair-*.md")
    (js,) = tmp_path.glob("fair-*.json")
    assert md.stem == js.stem
    data: dict[str, Any] = json.loads(js.read_text())
    return md.read_text(), data


def test_quick_run_writes_the_fair_report(tmp_path: Path) -> None:
    # 100%: no machine can be busier, so the run counts as fair whatever else runs here.
    proc = run_bench(tmp_path, "--busy-percent", "100")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "estimated" in proc.stderr  # the time estimate, printed at start
    text, data = the_report(tmp_path)
    assert data["fair"] is True and "NOT FAIR" not in text
    assert data["command"].startswith("python bench/run.py --quick")
    assert f"Command: `{data['command']}`" in text
    assert data["machine"]["cores"] >= 1 and data["machine"]["ram_gb"] > 0
    assert data["machine"]["kernel"] and data["machine"]["python"]
    assert data["versions"]["jobyard"] and data["versions"]["huey"]
    assert data["servers"]["redis"][0].isdigit()
    settings = data["settings"]
    assert settings["slots"] == settings["procs"] * settings["threads"] == 8
    systems = {r["system"]: r for r in data["systems"]}
    assert set(systems) == {"jobyard-sqlite", "huey-thread"}
    for name, r in systems.items():
        assert r["status"] == "ok", (name, r["errors"])
        assert r["load_before"]["seconds"] >= 1 and r["load_before"]["busy"] is False
        for body in ("noop", "incr"):
            drain = r["drain"][body]
            (run,) = drain["runs"]
            assert run["processed"] >= drain["n"] == settings["jobs"]
            assert 0 < drain["rate"]["median"] <= drain["steady_rate"]["median"]
            assert run["startup_seconds"] >= 0
            if body == "incr":  # the body really made its round trip, once per job at least
                assert run["body_calls"] >= drain["n"]
            else:
                assert run["body_calls"] == 0
            assert f"| {r['label']} | {body} | {drain['n']:,} |" in text
        lat = r["latency"]
        assert lat["n"] == settings["latency_samples"] and lat["missing"] == 0
        assert 0 < lat["p50_ms"] <= lat["p99_ms"] <= lat["max_ms"] < 10_000
        assert "<" not in r["workers"]  # every placeholder filled in
        single = r["single_enqueue"]
        assert single["n"] == 100 and single["rate"]["median"] > 0
        assert f"| {r['label']} | 100 |" in text
    # The equal slots, in each system's own words: 2 processes x 4, or 8 threads.
    assert "2 x" in systems["jobyard-sqlite"]["workers"] and "-c 4" in text
    assert "-k thread -w 8" in systems["huey-thread"]["workers"]
    rescue = systems["jobyard-sqlite"]["rescue"]["short"]
    assert rescue["lease"] == 2.0
    (seconds,) = rescue["seconds"]["runs"]
    # Not before the lease can have run out; well within a few heartbeats after it.
    assert 1.0 <= seconds < 15, seconds
    assert "huey" not in {k for r in systems.values() for k in r.get("rescue", {})}
    for title in (
        "### Single enqueue",
        "### Latency",
        "### Rescue",
        "### How each system",
        "### Load",
    ):
        assert title in text


def test_a_busy_machine_gets_no_report(tmp_path: Path) -> None:
    # A negative threshold makes every sample busy: the guard must refuse at once.
    proc = run_bench(tmp_path, "--busy-percent", "-1", "--busy-wait", "0")
    assert proc.returncode == 4, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("NOT REPORTING: machine busy before jobyard-sqlite"), last
    assert "--force" in last
    assert "Traceback" not in proc.stderr
    assert not list(tmp_path.glob("fair-*"))


def test_forced_on_a_busy_machine_the_report_says_not_fair(tmp_path: Path) -> None:
    proc = run_bench(
        tmp_path,
        *("--busy-percent", "-1", "--busy-wait", "0", "--force"),
        *("--systems", "jobyard-sqlite", "--bodies", "noop"),
        *("--latency-samples", "0", "--rescue-runs", "0"),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    text, data = the_report(tmp_path)
    assert data["fair"] is False and data["load"]["forced"] is True
    assert text.splitlines()[2].startswith("**NOT FAIR: machine busy**")
    (sample,) = data["load"]["samples"]
    assert sample["busy"] is True and "| jobyard-sqlite |" in text and "BUSY" in text
    (only,) = data["systems"]
    assert only["drain"]["noop"]["rate"]["median"] > 0
    assert "latency" not in only and "rescue" not in only


def test_bad_options_are_one_clear_line(tmp_path: Path) -> None:
    proc = run_bench(tmp_path, "--bodies", "noop,sleep")
    assert proc.returncode == 2
    assert "unknown body sleep; known: noop, incr" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_layouts_reports_equal_slot_layouts_and_a_concurrency_sweep(tmp_path: Path) -> None:
    cmd = [sys.executable, str(ROOT / "bench" / "layouts.py"), "--layouts", "1x2,2x1"]
    cmd += ["--concurrency", "1,3", "--bodies", "noop", "--jobs", "200", "--runs", "1"]
    cmd += ["--lock-wait", "120"]  # another bench test may hold the harness lock
    proc = subprocess.run(
        [*cmd, "--busy-percent", "100", "--report-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (js,) = tmp_path.glob("layouts-*.json")
    data = json.loads(js.read_text())
    text = js.with_suffix(".md").read_text()
    layouts = {(r["procs"], r["threads"], r["backend"]) for r in data["layouts"]}
    assert layouts == {(p, t, b) for p, t in ((1, 2), (2, 1)) for b in ("sqlite", "postgresql")}
    sweep = {(r["threads"], r["backend"]) for r in data["concurrency"]}
    assert sweep == {(c, b) for c in (1, 3) for b in ("sqlite", "postgresql")}
    for row in data["layouts"] + data["concurrency"]:
        assert row["drain"]["noop"]["rate"]["median"] > 0, row
    assert "| 2 x -c 1 | sqlite | noop |" in text and "Best per backend and body:" in text
    assert data["fair"] is True and "NOT FAIR" not in text


BAD_LAYOUTS = [["--layouts", "2y4"], ["--concurrency", "nan"], ["--layouts", "0x8"]]


@pytest.mark.parametrize("bad", BAD_LAYOUTS)
def test_layouts_refuses_a_bad_layout_in_one_line(bad: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "layouts.py"), *bad],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "layouts.py: error: layout" in proc.stderr
