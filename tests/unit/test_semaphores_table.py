"""How ``jobyard semaphores`` shows holders and waiters: modes, call holds, jobset holders."""

from __future__ import annotations

from jobyard.cli.semaphores import holders_cell, waiters_cell


def test_job_holders_calls_and_modes() -> None:
    row = {
        "holder": "job",
        "holders": [
            {"job": 12, "mode": "slot", "jobset": None},
            {"job": 13, "mode": "read", "jobset": 4},
            {"job": 14, "mode": "write", "jobset": None, "call": True},
        ],
        "waiters": [20, 21],
        "call_waiters": [{"job": 15, "mode": "slot"}],
    }
    assert holders_cell(row) == "12, 13 (read), 14 (call, write)"
    assert waiters_cell(row) == "20, 21, 15 (call)"


def test_jobset_holders_group_their_jobs() -> None:
    row = {
        "holder": "jobset",
        "holders": [
            {"job": 13, "mode": "slot", "jobset": 7},
            {"job": 12, "mode": "slot", "jobset": 7, "call": True},
            {"job": 30, "mode": "slot", "jobset": None},
            {"job": 20, "mode": "read", "jobset": 5},
        ],
        "waiters": list(range(100, 125)),
    }
    assert holders_cell(row) == "jobset 5 (20 (read)), jobset 7 (13, 12 (call)), 30"
    assert waiters_cell(row).endswith("119 ...")
