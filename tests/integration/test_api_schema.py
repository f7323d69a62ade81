"""schemathesis against the OpenAPI document of a real server: no 5xx, every response
matches the document (its schema, status code and content type)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.apiserver import serving

from jobyard import Yard
from jobyard.api.app import create_app
from jobyard.api.auth import NoAuth

pytestmark = [pytest.mark.slow]

CHECKS = (
    "not_a_server_error,response_schema_conformance,status_code_conformance,"
    "content_type_conformance"
)


def test_schemathesis_finds_nothing(tmp_path: Path) -> None:
    exe = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert exe, "schemathesis is a test dependency: run tools/setup.sh"
    y = Yard(f"sqlite:///{tmp_path / 'st.db'}")
    y.migrate()

    @y.job
    def hello(job, name: str = "x") -> str:  # type: ignore[no-untyped-def]
        return name

    y.sync_types()
    y.enqueue("hello")
    with serving(create_app(y, NoAuth())) as base:
        out = subprocess.run(
            [
                exe,
                "run",
                f"{base}/api/v1/openapi.json",
                "-c",
                CHECKS,
                "-n",
                "25",
                "--generation-deterministic",
                "--max-response-time",
                "10",
                "--exclude-path",  # endless by design: tests/integration/test_stream.py
                "/api/v1/stream",
                "--exclude-path",  # waits up to 30 s by design: tests/integration/test_work_wait.py
                "/api/v1/work/wait",
            ],
            cwd=tmp_path,  # its crash cache stays out of the repository
            capture_output=True,
            text=True,
            timeout=600,
        )
    tail = out.stdout[-5000:]
    assert out.returncode == 0, tail
    assert " failures" not in tail.split("SUMMARY")[-1] or "0 failures" in tail, tail
    y.close()
