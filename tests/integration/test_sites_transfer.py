"""upload/download/mirror with rsync over real sshd, and the SFTP fallback without rsync."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.sshd import SSHServer

from jobyard.sites.commands import ShellFailed
from jobyard.sites.inventory import Site
from jobyard.sites.shell import Shell


def tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def source(tmp_path: Path) -> Path:
    src = tmp_path / "src dir"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "sub" / "b; rm -rf x.txt").write_text("beta")
    return src


@pytest.mark.parametrize("without", [(), ("rsync",)], ids=["rsync", "sftp"])
def test_upload_download_mirror(
    tmp_path: Path, sshd: Callable[..., SSHServer], without: tuple[str, ...]
) -> None:
    server = sshd(without=without)
    logs: list[str] = []
    sh = Shell(Site("web1", [], server.site()), lambda m, lvl: logs.append(m))
    src = source(tmp_path)
    dest = tmp_path / "remote side"
    sh.upload(str(src), str(dest))
    assert tree(dest) == tree(src)
    assert any(("sftp" if without else "rsync") in line for line in logs)
    (dest / "extra.txt").write_text("left over")
    sh.upload(str(src), str(dest))
    assert (dest / "extra.txt").exists()  # plain upload keeps extras
    sh.mirror(str(src), str(dest))
    assert tree(dest) == tree(src)  # mirror deletes them
    back = tmp_path / "back"
    sh.download(str(dest), str(back))
    assert tree(back) == tree(src)


def test_rsync_args_pass_through_and_unknown_host_key_refuses(
    tmp_path: Path, sshd: Callable[..., SSHServer]
) -> None:
    server = sshd()
    src = source(tmp_path)
    sh = Shell(Site("web1", [], server.site()), None)
    dest = tmp_path / "dest"
    sh.upload(str(src), str(dest), args=["--exclude", "sub"])
    assert tree(dest) == {"a.txt": "alpha"}
    sh.upload(str(src), str(tmp_path / "again"))
    from jobyard.sites import connect, transfer

    # both rsyncs rode one ssh master connection, named after every connection setting
    name = transfer._control_path(connect.Target.of(sh.site))
    assert os.path.exists(name) and stat.S_ISSOCK(os.stat(name).st_mode)
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    bad = Shell(Site("web1", [], server.site(known_hosts=str(empty))), None)
    bad._remote_rsync = True  # type: ignore[attr-defined]  # go straight to rsync's own ssh
    with pytest.raises(ShellFailed, match="site 'web1'"):
        bad.upload(str(src), str(tmp_path / "never"))
    assert not (tmp_path / "never").exists()


def test_local_site_upload(tmp_path: Path) -> None:
    src = source(tmp_path)
    sh = Shell(Site("local", [], {}), None)
    sh.upload(str(src), str(tmp_path / "copy"))
    assert tree(tmp_path / "copy") == tree(src)
