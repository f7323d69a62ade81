"""bench/sites.py --quick: jobyard, pyinfra and Fabric on 3 real loopback sshd sites."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_sites_benchmark_reports_all_three_tools(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\nkept text\n")
    t0 = time.monotonic()
    script = str(ROOT / "bench" / "sites.py")
    proc = subprocess.run(
        [sys.executable, script, "--quick", "--allow-load", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert time.monotonic() - t0 < 60
    text = out.read_text()
    assert text.startswith("# Benchmarks\n\nkept text\n")  # the section is added, not a rewrite
    section = text.split("<!-- compare:sites -->", 1)[1].split("<!-- /compare:sites -->")[0]
    assert "pyinfra 3." in section and "fabric 3." in section and "asyncssh" in section
    row = re.search(r"^\| 3 \| ([\d.]+)[^|]* \| ([\d.]+) \| ([\d.]+) \| (\d+) \|$", section, re.M)
    assert row is not None, section
    jobyard, pyinfra, fabric, per_site = (float(x) for x in row.groups())
    assert jobyard > 0 and pyinfra > 0 and fabric > 0 and per_site > 0
    assert abs(per_site - 1000 * jobyard / 3) < 5  # the table rounds both
    # each tool ran in its own process and checked its downloads: all three lines printed
    for tool in ("jobyard", "pyinfra", "fabric"):
        assert re.search(rf"N=3 run 1 {tool}: [\d.]+ s", proc.stderr), proc.stderr


def test_sites_benchmark_refuses_a_busy_machine_and_bad_sizes(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    bad = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "sites.py"), "--n", "ten", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "--n takes whole numbers" in bad.stderr
    assert "Traceback" not in bad.stderr and not out.exists()
