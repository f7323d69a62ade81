"""The HTTP benchmarks (bench/http_enqueue.py, bench/sse.py) in quick mode, as the user runs
them: a subprocess each, a real server subprocess, real HTTP; the report section is written
and its numbers are sane (non-zero rates, ordered percentiles, every job stored, no gap)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_bench(script: str, tmp_path: Path, *extra: str) -> tuple[str, dict[str, Any]]:
    out, numbers = tmp_path / "benchmarks.md", tmp_path / "numbers.json"
    out.write_text("# Benchmarks\n\nkept text\n")
    cmd = [sys.executable, str(ROOT / "bench" / script), "--quick", "--out", str(out)]
    proc = subprocess.run(
        [*cmd, "--json", str(numbers), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = out.read_text()
    assert text.startswith("# Benchmarks\n\nkept text\n")  # the section is added, not over
    data: dict[str, Any] = json.loads(numbers.read_text())
    return text, data


@pytest.mark.slow
def test_http_enqueue_quick_writes_its_report(tmp_path: Path) -> None:
    text, data = run_bench("http_enqueue.py", tmp_path)
    assert "<!-- compare:http-enqueue-sqlite -->" in text
    assert "<!-- /compare:http-enqueue-sqlite -->" in text
    phases = {(r["phase"], r["clients"]) for r in data["rows"]}
    assert phases == {
        ("yard.enqueue", 1),
        ("yard.enqueue", 4),
        ("yard.enqueue_many", 1),
        ("POST /api/v1/jobs", 1),
        ("POST /api/v1/jobs", 4),
        ("POST /api/v1/jobs/bulk", 1),
        ("POST /api/v1/jobs/bulk", 4),
    }
    for r in data["rows"]:
        assert r["jobs"] > 0 and r["rate"] > 0, r
        assert 0 < r["p50_ms"] <= r["p99_ms"] < 60_000, r
        if r["phase"].startswith("POST"):
            assert r["server_cpu_ms_per_1000"] > 0, r  # the server process did the work
            assert f"| `{r['phase']}" in text
    rate = {(r["phase"], r["clients"]): r["rate"] for r in data["rows"]}
    # a bulk request carries 200 jobs: it must beat one request per job by far
    assert rate[("POST /api/v1/jobs/bulk", 1)] > 5 * rate[("POST /api/v1/jobs", 1)]


@pytest.mark.slow
def test_sse_quick_reaches_every_client_without_gaps(tmp_path: Path) -> None:
    text, data = run_bench("sse.py", tmp_path)
    assert "<!-- compare:sse-fanout-sqlite -->" in text
    assert "Gaps (event ids missed, every client of every run): 0." in text
    one, many = data["runs"]
    assert (one["clients"], many["clients"]) == (1, 20)
    for r in (one, many):
        assert r["events"] >= 300  # created, started, completed of 100 jobs
        assert r["received"] == r["events"] * r["clients"]
        assert r["gaps"] == 0 and r["duplicates"] == 0, r
        assert r["per_client_rate"] > 0 and r["total_rate"] > 0, r
        assert 0 < r["p50_ms"] <= r["p99_ms"] < 30_000, r
        assert r["reads"] > 0, r
    assert many["total_rate"] > 5 * one["total_rate"]  # 20 clients get 20 copies
    # one reader for everyone: 20 clients do not make the server read the log more often
    assert many["reads_per_s"] <= one["reads_per_s"] * 1.5 + 1, (one, many)


@pytest.mark.slow
@pytest.mark.postgres
def test_sse_quick_on_postgres_reaches_every_client_without_gaps(
    tmp_path: Path, pg_admin: Any
) -> None:
    _, data = run_bench("sse.py", tmp_path, "--pg")
    for r in data["runs"]:
        assert r["events"] >= 300 and r["total_rate"] > 0, r
        assert r["gaps"] == 0 and r["duplicates"] == 0, r
