"""The seed's two poly.shell examples (examples/poly_*.py), run against real sshd sites."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from tests.sshd import SSHServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def examples() -> Iterator[Callable[[str], ModuleType]]:
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import importlib

        yield importlib.import_module
    finally:
        sys.path.remove(str(ROOT / "examples"))


def test_hello_on_two_ssh_sites(
    tmp_path: Path, sshd: Callable[..., SSHServer], examples: Callable[[str], ModuleType]
) -> None:
    poly_hello = examples("poly_hello")
    one, two = sshd(), sshd()
    sites = {
        "test": one.site(testpath=str(tmp_path / "jobstest" / "t1")),
        "test2": two.site(testpath=str(tmp_path / "jobstest" / "t2")),
    }
    outcome = poly_hello.main(f"sqlite:///{tmp_path / 'h.db'}", sites)
    assert outcome["ok"] and outcome["failed"] == []
    world = outcome["logs"]["world@test"]
    assert "test: greetings from: test running on host: 127.0.0.1" in world
    assert "test: hello world" in world and "test: message delivered" in world
    assert "test2: hello world" in outcome["logs"]["world@test2"]
    for sub in ("t1", "t2"):
        assert (tmp_path / "jobstest" / sub / "hello.test").read_text() == "hello world\n"


def test_deploy_on_two_ssh_app_servers(
    tmp_path: Path, sshd: Callable[..., SSHServer], examples: Callable[[str], ModuleType]
) -> None:
    poly_deploy = examples("poly_deploy")
    busy, standby = sshd(), sshd(without=["rsync"])  # the standby gets its files by SFTP
    apps = {
        "appsvr-busy": busy.site(root=str(tmp_path / "busy")),
        "appsvr-standby": standby.site(root=str(tmp_path / "standby"), env={"DEPLOY_FAIL": "1"}),
    }
    outcome = poly_deploy.main(f"sqlite:///{tmp_path / 'd.db'}", apps)
    assert outcome["ok"], outcome["failed"]
    # a good deploy: the second snapshot skips myinit; a bad one rolls back
    assert outcome["history"]["appsvr-busy"] == ["init", "backup", "deploy", "backup"]
    assert outcome["history"]["appsvr-standby"] == ["init", "backup", "init", "backup", "rollback"]
    assert (tmp_path / "standby" / "www" / "index.html").read_text() == "<h1>release</h1>\n"
    assert any("deploy failed on appsvr-standby: deploy broke" in r for r in outcome["reports"])


@pytest.mark.parametrize("name", ["poly_hello.py", "poly_deploy.py"])
def test_examples_run_as_scripts(name: str) -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert ("message delivered" if name == "poly_hello.py" else "deploy backup") in out.stdout
