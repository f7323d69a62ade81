from __future__ import annotations

import subprocess
import sys

import jobyard


def test_public_names_are_pinned() -> None:
    assert sorted(jobyard.__all__) == sorted(
        [
            "PRIORITIES",
            "STATUSES",
            "ConfigError",
            "DatabaseError",
            "Fatal",
            "InvalidInput",
            "InvalidTransition",
            "Job",
            "JobContext",
            "JobFailed",
            "JobHandle",
            "JobType",
            "JobyardError",
            "LeaseLost",
            "NotFound",
            "Repeat",
            "Retry",
            "SemaphoreTimeout",
            "UnknownJobType",
            "WaitTimeout",
            "Yard",
            "__version__",
        ]
    )
    for name in jobyard.__all__:
        assert hasattr(jobyard, name)


def test_every_error_derives_from_the_root() -> None:
    for name in jobyard.__all__:
        value = getattr(jobyard, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, jobyard.JobyardError), name


def test_import_has_no_side_effects(tmp_path: object) -> None:
    code = "import os, jobyard, jobyard.cli.main, jobyard.demo; print(sorted(os.listdir('.')))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=str(tmp_path), capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
