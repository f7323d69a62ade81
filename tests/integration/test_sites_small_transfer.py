"""Small single files go over SFTP on the shell's connection (no rsync, no second ssh)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.sshd import SSHServer

from jobyard.sites import transfer
from jobyard.sites.commands import ShellFailed
from jobyard.sites.inventory import Site
from jobyard.sites.shell import Shell


def test_small_file_rides_the_connection_and_big_one_uses_rsync(
    tmp_path: Path, sshd: Callable[..., SSHServer]
) -> None:
    server = sshd()
    logs: list[str] = []
    sh = Shell(Site("web1", [], server.site()), lambda m, lvl: logs.append(m))
    small = tmp_path / "small file; rm -rf x"
    small.write_bytes(os.urandom(4096))
    os.chmod(small, 0o640)
    remote = tmp_path / "remote"
    remote.mkdir()
    sh.upload(str(small), str(remote / "copy"))
    assert (remote / "copy").read_bytes() == small.read_bytes()
    assert (remote / "copy").stat().st_mode & 0o777 == 0o640  # preserved, as rsync -a does
    sh.upload(str(small), str(remote))  # into an existing directory, as rsync puts it
    assert (remote / small.name).read_bytes() == small.read_bytes()
    sh.download(str(remote / "copy"), str(tmp_path / "back"))
    assert (tmp_path / "back").read_bytes() == small.read_bytes()
    assert sum("(small file)" in line and "sftp" in line for line in logs) == 3
    assert not any("rsync" in line for line in logs)
    assert not os.path.exists(transfer._control_path(transfer.connect.Target.of(sh.site)))

    big = tmp_path / "big"
    big.write_bytes(os.urandom(transfer.SMALL_FILE + 1))
    sh.upload(str(big), str(remote / "big"))
    assert (remote / "big").read_bytes() == big.read_bytes()
    assert logs[-1].startswith("web1$ rsync upload")


def test_small_download_of_missing_file_fails_naming_it(
    tmp_path: Path, sshd: Callable[..., SSHServer]
) -> None:
    sh = Shell(Site("web1", [], sshd().site()), None)
    missing = tmp_path / "no such file"
    with pytest.raises(ShellFailed, match="web1") as info:
        sh.download(str(missing), str(tmp_path / "out"))
    assert "no such file" in str(info.value).lower() or "no such file" in info.value.result.stderr
    assert not (tmp_path / "out").exists()
