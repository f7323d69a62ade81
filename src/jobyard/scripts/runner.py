"""Running one script job: a subprocess in its own process group, output streamed to the
job log, calls from stderr and a per-run unix socket, timeout and cancellation.

The job data (JSON) goes to the script on stdin and in env ``JOBYARD_DATA``, which only
its own user can read; argv is ``[path]`` alone, since every local user can read argv in
``/proc/PID/cmdline``. A type with ``data_in_argv`` (Sooner's form) gets
``[path, DATA, SOCKET]``. The environment adds ``JOBYARD_JOB_ID``, ``JOBYARD_SOCKET`` and
``JOBYARD_SITE`` (if any).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from typing import Any

from jobyard import model, runas
from jobyard.context import JobContext
from jobyard.errors import JobyardError
from jobyard.scripts.calls import MAX_REQUEST, Calls
from jobyard.scripts.output import Limits, Sink, decode, lines

log = logging.getLogger("jobyard.scripts")
DRAIN = 0.5  # seconds the output may trail the script's exit before leftovers are killed


class ScriptFailed(JobyardError):
    """A script run failed; the job's error is exactly this message (retries apply)."""

    plain = True  # the worker records str(exc), without the class name


# On Linux the script is started through a tiny launcher that asks the kernel to kill it
# when its worker dies (PR_SET_PDEATHSIG survives exec), then execs the script: a kill -9
# of a worker leaves no script running on. (A preexec_fn would do the same, but it runs
# Python code in the forked child of a threaded process: with PostgreSQL, that broke the
# worker's database connections.)
_LAUNCHER = """\
import ctypes, os, signal, sys
creds, cwd = sys.argv[2], sys.argv[3]
if creds:  # run as another user: drop root here, in a fresh process (see jobyard.runas)
    uid, gid, groups, mask = creds.split(":")
    try:
        os.setgroups([int(g) for g in groups.split(",")])
        os.setgid(int(gid))
        os.setuid(int(uid))
        os.umask(int(mask, 8))
        os.chdir(cwd)
    except OSError as exc:
        sys.stderr.write(f"cannot run as uid {uid} in {cwd}: {exc.strerror or exc}\\n")
        os._exit(126)
ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL (after setuid, which clears it)
for name in ("SIGPIPE", "SIGXFSZ"):  # Python ignores these; a script must not inherit that
    signal.signal(getattr(signal, name), signal.SIG_DFL)
if os.getppid() != int(sys.argv[1]):
    os._exit(137)  # the worker died already
try:
    os.execv(sys.argv[4], sys.argv[4:])
except OSError as exc:
    sys.stderr.write(f"cannot run script {sys.argv[4]}: {exc.strerror or exc}\\n")
    os._exit(126)
"""


def _command(
    path: str, *args: str, ident: runas.Identity | None = None, cwd: str = ""
) -> tuple[list[str], dict[str, Any]]:
    """The argv that starts the script, and the extra Popen options it needs."""
    switch = ident is not None and ident.switch
    if sys.platform.startswith("linux") and sys.executable:
        creds = ""
        if switch:
            assert ident is not None
            groups = ",".join(str(g) for g in ident.groups)
            creds = f"{ident.uid}:{ident.gid}:{groups}:{runas.UMASK:o}"
        launcher = [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(os.getpid()), creds, cwd]
        return [*launcher, path, *args], {}
    return [path, *args], runas.popen_options(ident)


def _killpg(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def stop_group(proc: asyncio.subprocess.Process, grace: float) -> None:
    """SIGTERM the whole process group, then SIGKILL it after ``grace`` seconds."""
    _killpg(proc.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(asyncio.shield(proc.wait()), grace)
    except TimeoutError:
        pass
    _killpg(proc.pid, signal.SIGKILL)
    await proc.wait()


def _check_path(path: Any) -> str:
    if not isinstance(path, str) or not path:
        raise ScriptFailed("this script type has no path; run `jobyard scripts sync`")
    if not os.path.exists(path):
        raise ScriptFailed(f"script {path} does not exist (deleted? run `jobyard scripts sync`)")
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise ScriptFailed(f"script {path} is not an executable file (chmod +x it)")
    return path


def _environment(
    ctx: JobContext, data: str, socket_path: str, ident: runas.Identity | None
) -> dict[str, str]:
    protocol = {
        "JOBYARD_JOB_ID": str(ctx.job.id),
        "JOBYARD_TYPE": ctx.job.type,
        "JOBYARD_ATTEMPT": str(ctx.job.attempts),
        "JOBYARD_DATA": data,
        "JOBYARD_SOCKET": socket_path,
        "PYTHONUNBUFFERED": "1",  # Python scripts' output arrives live
    }
    if ctx.job.site:
        protocol["JOBYARD_SITE"] = str(ctx.job.site)
    here = os.path.dirname(sys.executable)  # so `#!/usr/bin/env python3` finds jobyard
    if ident is not None:
        # Another user's script gets none of the worker's variables (its database URL,
        # tokens); nor the worker's interpreter first on PATH, which it may not reach.
        return runas.environment(ident, protocol, "" if ident.switch else here)
    env = dict(os.environ)
    env.pop("JOBYARD_SITE", None)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.update({k: v for k, v in protocol.items() if k != "PYTHONUNBUFFERED"})
    if here and here not in env.get("PATH", "").split(os.pathsep):
        env["PATH"] = here + os.pathsep + env.get("PATH", "")
    return env


def _identity(ctx: JobContext, meta: dict[str, Any]) -> runas.Identity | None:
    config = ctx.yard.config
    value = runas.effective(ctx.job.props, None, meta.get("run_as"), config.run_as)
    return runas.decide(value, runas.allow_root(config.allow_root), f"script {ctx.job.type}")


def _hand_over(folder: str, socket_path: str, ident: runas.Identity | None) -> None:
    """Give the run's socket (and its 0700 folder) to the script's user: it alone (and
    root) can connect; the worker's own user keeps the socket as it is otherwise."""
    if ident is None or not ident.switch:
        return
    os.chown(folder, ident.uid, ident.gid)
    os.chown(socket_path, ident.uid, ident.gid)


def folder_of(path: str) -> str:
    return os.path.dirname(os.path.abspath(path))


def _encode(data: Any) -> str:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates cannot go into env or argv: escape them
        text = json.dumps(data, separators=(",", ":"))
    return text


def _socket_folder() -> str:
    folder = tempfile.mkdtemp(prefix="jobyard-run-")
    if len(folder) > 90:  # a unix socket path must stay under ~107 bytes
        shutil.rmtree(folder, ignore_errors=True)
        folder = tempfile.mkdtemp(prefix="jobyard-run-", dir="/tmp")
    return folder


def _exit_message(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = str(-code)
        return f"script killed by signal {name}"
    return f"script exited with status {code}"


async def run_script(ctx: JobContext, meta: dict[str, Any], limits: Limits) -> Any:
    """Run the script of ``meta`` for the job of ``ctx``; return its result() value."""
    from jobyard.scripts.params import with_defaults

    path = _check_path(meta.get("path"))
    ident = _identity(ctx, meta)
    data = _encode(with_defaults(meta, ctx.data))
    timeout = ctx.job.timeout or meta.get("timeout") or None
    sink = Sink(ctx, limits)
    calls = Calls(ctx, sink)
    folder = _socket_folder()
    socket_path = os.path.join(folder, "rpc.sock")
    try:
        server = await asyncio.start_unix_server(calls.serve, path=socket_path, limit=MAX_REQUEST)
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise ScriptFailed(f"cannot open the run's socket {socket_path}: {exc}") from None
    try:
        _hand_over(folder, socket_path, ident)
    except OSError as exc:
        server.close()
        shutil.rmtree(folder, ignore_errors=True)
        raise ScriptFailed(f"cannot give the run's socket to {ident}: {exc}") from None
    proc: asyncio.subprocess.Process | None = None
    readers: list[asyncio.Future[None]] = []
    status, started = model.FAILED, time.time()
    guarded = True
    in_argv = bool(meta.get("data_in_argv"))
    feeding: asyncio.Future[None] | None = None
    try:
        try:
            argv, extra = _command(
                path, *((data, socket_path) if in_argv else ()), ident=ident, cwd=folder_of(path)
            )
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=_environment(ctx, data, socket_path, ident),
                cwd=folder_of(path),
                start_new_session=True,
                **extra,
            )
        except OSError as exc:
            if exc.errno == errno.E2BIG:
                raise ScriptFailed(
                    f"job data is too large to pass to a script ({len(data)} bytes; "
                    "an environment variable takes at most 128 KB)"
                ) from None
            raise ScriptFailed(f"cannot run script {path}: {exc.strerror or exc}") from None
        who = f" as {ident.describe()}" if ident is not None and ident.switch else ""
        sink.note(f"script started: {path} (pid {proc.pid}){who}", data={"pid": proc.pid})
        sink.start()
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        feeding = asyncio.ensure_future(_feed(proc.stdin, data))
        readers = [
            asyncio.ensure_future(_stdout(proc.stdout, sink)),
            asyncio.ensure_future(_stderr(proc.stderr, calls)),
        ]
        try:
            outcome = await _wait(proc, sink, timeout)
        except asyncio.CancelledError:  # the worker's: the job was cancelled (or shutdown)
            status, guarded = model.CANCELLED, False
            await stop_group(proc, limits.grace)
            await _drain(proc, readers)
            sink.note("killed by user", "warning")
            raise
        if outcome == "timeout":
            assert timeout is not None
            await stop_group(proc, limits.grace)
            await _drain(proc, readers)
            sink.note(f"killed by timeout ({timeout:g} s)", "danger")
            raise ScriptFailed(f"killed by timeout ({timeout:g} s)")
        if outcome == "lost":  # noticed by a log write before the worker's heartbeat did
            status, guarded = model.CANCELLED, False
            await stop_group(proc, limits.grace)
            await _drain(proc, readers)
            sink.note("killed by user", "warning")
            raise ScriptFailed("killed by user")
        await _drain(proc, readers)
        code = proc.returncode
        assert code is not None
        elapsed = {"exit_code": code, "pid": proc.pid, "seconds": round(time.time() - started, 3)}
        if code == 0:
            sink.note(_exit_message(code), "success", elapsed)
            status = model.COMPLETED
            return calls.result
        sink.note(_exit_message(code), "danger", elapsed)
        raise ScriptFailed(_exit_message(code))
    finally:
        if proc is not None and proc.returncode is None:
            _killpg(proc.pid, signal.SIGKILL)  # never leave a script behind
        for reader in readers:
            reader.cancel()
        if feeding is not None:
            feeding.cancel()
        server.close()
        calls.close_clients()
        shutil.rmtree(folder, ignore_errors=True)
        await _finish(ctx, sink, guarded, status, started, proc is not None)


async def _wait(proc: asyncio.subprocess.Process, sink: Sink, timeout: float | None) -> str:
    """Wait for the script to exit: "exited", "timeout", or "lost" (the run is not ours)."""
    exited = asyncio.ensure_future(proc.wait())
    lost = asyncio.ensure_future(sink.lost.wait())
    try:
        done, _ = await asyncio.wait(
            {exited, lost}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        lost.cancel()
        if not exited.done():
            exited.cancel()
    if exited in done:
        return "exited"
    return "lost" if lost in done else "timeout"


async def _drain(proc: asyncio.subprocess.Process, readers: list[asyncio.Future[None]]) -> None:
    """Let the output catch up; then kill whatever the script left running in its group."""
    _, pending = await asyncio.wait(readers, timeout=DRAIN)
    _killpg(proc.pid, signal.SIGKILL)
    if pending:
        await asyncio.wait(pending, timeout=DRAIN)


async def _feed(stdin: asyncio.StreamWriter, data: str) -> None:
    """Write the job data to the script's stdin, then close it (EOF after the JSON).

    A script that never reads stdin, or exits first, is fine: the pipe just breaks."""
    with contextlib.suppress(ConnectionError, OSError):
        stdin.write(data.encode("utf-8") + b"\n")
        await stdin.drain()
    with contextlib.suppress(ConnectionError, OSError):
        stdin.close()


async def _stdout(stream: asyncio.StreamReader, sink: Sink) -> None:
    async for when, raw in lines(stream):
        sink.output(decode(raw), when=when)


async def _stderr(stream: asyncio.StreamReader, calls: Calls) -> None:
    async for when, raw in lines(stream):
        await calls.stderr_line(when, raw)


async def _finish(
    ctx: JobContext, sink: Sink, guarded: bool, status: str, started: float, ran: bool
) -> None:
    """Write the last output, then the type's last_ran/last_status."""
    if not guarded:
        # Cancelled: the run is no longer ours; its last lines are still worth keeping,
        # but only if the job was really cancelled (not taken over by another worker).
        job = await asyncio.to_thread(ctx.port.get_job, ctx.job.id)
        guarded = job is None or job.status != model.CANCELLED
    try:
        await sink.close(guarded)
    except Exception:
        log.exception("writing the last output of job %s failed", ctx.job.id)
    if not ran:
        return
    try:
        await asyncio.to_thread(ctx.port.script_ran, ctx.job.type, started, status)
    except Exception:
        log.exception("recording the last run of type %s failed", ctx.job.type)


__all__ = ["ScriptFailed", "decode", "run_script"]
