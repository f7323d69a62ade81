"""meteor-job's README example (examples/meteor_job_worker.py) runs and behaves as shown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_meteor_job_example(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import meteor_job_worker
    finally:
        sys.path.remove(str(ROOT / "examples"))
    report = meteor_job_worker.main(f"sqlite:///{tmp_path / 'm.db'}")
    assert [r["status"] for r in report] == ["completed"] * 3
    assert [r["result"] for r in report] == [{"sent": 2}, {"sent": 3}, {"sent": 1}]
    assert [r["attempts"] for r in report] == [1, 2, 1]  # the bounce is retried once
    assert all(r["progress"] == 100 for r in report)
    retried = report[1]["log"]
    assert retried[0] == "Job Submitted" and retried[1] == "Attempting to send 3 emails"
    assert any(m.startswith("Job Failed with Error: RuntimeError: 1 emails") for m in retried)
    assert retried[-2:] == ["Sent 3 emails", "Job Completed"]


def test_meteor_job_example_as_a_script(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "meteor_job_worker.py"),
            f"sqlite:///{tmp_path / 's.db'}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.count("'status': 'completed'") == 3
