"""ctx.shell against real sshd servers (tests/sshd.py) and the local shell."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tests.sshd import SSHServer, free_port

from jobyard.errors import InvalidInput
from jobyard.sites.commands import ShellFailed, ShellTimeout
from jobyard.sites.connect import SiteUnreachable
from jobyard.sites.inventory import Site
from jobyard.sites.shell import Shell

Logs = list[tuple[str, str]]


def shell(config: dict[str, object], name: str = "web1") -> tuple[Shell, Logs]:
    logs: Logs = []
    return Shell(Site(name, ["app"], config), lambda m, lvl: logs.append((m, lvl))), logs


@pytest.fixture
def server(sshd: Callable[..., SSHServer]) -> SSHServer:
    return sshd()


@pytest.mark.parametrize("where", ["local", "ssh"])
def test_capture_limit_and_separate_stderr(where: str, server: SSHServer) -> None:
    sh, logs = shell({} if where == "local" else server.site())
    result = sh.run("echo hello world; echo oops >&2")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "hello world\n", "oops\n")
    assert sh.run("echo hello world", capture=5).stdout == "hello"
    assert sh.run("echo hello world", capture=0).stdout == ""
    assert ("web1: hello world", "info") in logs and ("web1! oops", "info") in logs
    assert logs[0] == ("web1$ echo hello world; echo oops >&2", "info")


def test_ssh_runs_as_the_site_user_with_site_env(server: SSHServer) -> None:
    sh, _ = shell(server.site(env={"GREETING": "hi; $(touch /tmp/x)"}))
    result = sh.run('whoami; printf "%s\\n" "$GREETING"')
    assert result.stdout == "root\nhi; $(touch /tmp/x)\n"


def test_list_of_commands_stops_at_the_first_failure(tmp_path: Path, server: SSHServer) -> None:
    sh, _ = shell(server.site())
    marker = tmp_path / "never"
    with pytest.raises(ShellFailed, match="status 3") as err:
        sh.run(["cd /tmp", "pwd", "exit 3", ("touch", str(marker))])
    assert err.value.result.stdout == "/tmp\n"
    assert not marker.exists()
    result = sh.run("exit 4", check=False)
    assert result.exit_code == 4 and not result.ok


def test_injection_through_a_parameter_stays_data(tmp_path: Path, server: SSHServer) -> None:
    sh, _ = shell(server.site())
    pwned = tmp_path / "pwned"
    evil = f"x'; touch {pwned}; echo '$(touch {pwned})`touch {pwned}`"
    result = sh.run(("echo", evil))
    assert result.stdout == evil + "\n"
    assert sh.run("echo " + sh.quote(evil)).stdout == evil + "\n"
    assert not pwned.exists()


def test_one_connection_is_reused(server: SSHServer) -> None:
    sh, _ = shell(server.site())
    first = sh.run("echo $SSH_CONNECTION").stdout
    other, _ = shell(server.site(), name="web2")  # another site on the same host and port
    assert (
        other.run("echo $SSH_CONNECTION").stdout == first == sh.run("echo $SSH_CONNECTION").stdout
    )


def test_unknown_host_key_is_refused_and_explained(
    tmp_path: Path, server: SSHServer, sshd: Callable[..., SSHServer]
) -> None:
    empty = tmp_path / "known_hosts_empty"
    empty.write_text("")
    sh, _ = shell(server.site(known_hosts=str(empty)))
    with pytest.raises(SiteUnreachable, match="host key not trusted") as err:
        sh.run("true")
    assert "web1" in str(err.value) and str(empty) in str(err.value)
    other = sshd()  # a server whose key differs from the one pinned below
    sh2, _ = shell(other.site(host_key=server.host_key, known_hosts=None))
    with pytest.raises(SiteUnreachable, match="pinned host_key"):
        sh2.run("true")
    sh3, _ = shell(server.site(host_key=server.host_key, known_hosts=None))
    assert sh3.run("echo pinned").stdout == "pinned\n"


def test_missing_known_hosts_file_is_explained(tmp_path: Path, server: SSHServer) -> None:
    sh, _ = shell(server.site(known_hosts=str(tmp_path / "absent")))
    with pytest.raises(SiteUnreachable, match=r"known_hosts file .*absent does not exist"):
        sh.run("true")


def test_unreachable_site_names_the_site(server: SSHServer) -> None:
    sh, _ = shell(
        {
            "host": "127.0.0.1",
            "port": free_port(),
            "connect_timeout": 2,
            "known_hosts": server.known_hosts,
        }
    )
    with pytest.raises(SiteUnreachable, match=r"site 'web1' .*cannot connect"):
        sh.run("true")


@pytest.mark.parametrize("where", ["local", "ssh"])
def test_timeout_kills_the_command(where: str, server: SSHServer) -> None:
    sh, _ = shell({} if where == "local" else server.site())
    with pytest.raises(ShellTimeout, match=r"killed after 0\.5 s"):
        sh.run("sleep 30", timeout=0.5)
    assert sh.run("echo after").stdout == "after\n"  # the connection still works


def test_sudo_password_goes_to_stdin_never_to_log_or_argv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    # A stand-in sudo (the machine has none): it proves the password came on stdin.
    (fake / "sudo").write_text(
        '#!/bin/sh\nread pw\necho "argv: $*" >&2\n[ "$pw" = "s3cret" ] || exit 9\n'
        'while [ "$1" != "--" ]; do shift; done; shift; exec "$@"\n'
    )
    (fake / "sudo").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:/usr/bin:/bin")
    monkeypatch.setenv("DEPLOY_PW", "s3cret")
    sh, logs = shell({"sudo_password_env": "DEPLOY_PW"})
    result = sh.sudo("echo as root", user="root")
    assert result.stdout == "as root\n"
    assert "s3cret" not in result.stderr and all("s3cret" not in m for m, _ in logs)
    monkeypatch.delenv("DEPLOY_PW")
    with pytest.raises(InvalidInput, match="DEPLOY_PW, which is not set"):
        sh.sudo("true")


@pytest.mark.parametrize("where", ["local", "ssh"])
def test_site_concurrency_caps_commands_at_once(where: str, server: SSHServer) -> None:
    import asyncio
    import time

    base: dict[str, object] = {} if where == "local" else server.site()
    cmd = "date +%s.%N; sleep 0.4; date +%s.%N"

    async def two(sh: Shell) -> list[list[float]]:
        results = await asyncio.gather(sh.arun(cmd), sh.arun(cmd))
        return [[float(x) for x in r.stdout.split()] for r in results]

    capped, _ = shell({**base, "concurrency": 1}, name=f"capped-{where}")
    spans = sorted(asyncio.run(two(capped)))
    assert spans[1][0] >= spans[0][1]  # the second started after the first ended
    free, _ = shell(base, name=f"free-{where}")
    started = time.monotonic()
    spans = sorted(asyncio.run(two(free)))
    assert spans[1][0] < spans[0][1]  # uncapped: they overlapped
    assert time.monotonic() - started < 5
    from jobyard.sites.inventory import check_value

    with pytest.raises(InvalidInput, match="'concurrency' must be a whole number >= 1"):
        check_value("x", "concurrency", 0)


def test_many_sites_on_one_host_stay_within_its_max_sessions(server: SSHServer) -> None:
    import asyncio

    # The server keeps OpenSSH's default MaxSessions (10); 15 sites share its connection.
    shells = [shell(server.site(), name=f"vhost{i}")[0] for i in range(15)]

    async def all_at_once() -> list[str]:
        found = await asyncio.gather(*(s.arun("sleep 0.2; echo ok") for s in shells))
        return [r.stdout for r in found]

    assert asyncio.run(all_at_once()) == ["ok\n"] * 15


def test_secrets_are_masked_in_log_and_error(server: SSHServer) -> None:
    sh, logs = shell(server.site())
    token = "tok-123-secret"
    result = sh.run(f"echo using {token}", secrets=[token])
    assert result.stdout == f"using {token}\n"  # the caller still gets the real output
    with pytest.raises(ShellFailed) as err:
        sh.run(f"echo {token} >&2; exit 1", secrets=[token])
    assert token not in str(err.value) and "***" in str(err.value)
    assert all(token not in message for message, _ in logs)
    assert ("web1: using ***", "info") in logs
