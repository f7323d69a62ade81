"""A script run's output on its way to the job log: line splitting, bounds, batched writes.

Lines are time-stamped as they are read and written in batches (every ``LOG_EVERY``
seconds) together with a check that the run is still this worker's; progress is debounced
(``PROGRESS_EVERY``). Past the line or byte bound one notice is logged and the rest of the
output is dropped; the script runs on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from jobyard.context import JobContext, check_progress
from jobyard.errors import LeaseLost
from jobyard.lifecycle import log_entry
from jobyard.limits import scrub_nul

log = logging.getLogger("jobyard.scripts")
LOG_EVERY = 0.1
PROGRESS_EVERY = 0.05
MAX_LINE = 256 * 1024  # longer lines are cut in pieces


@dataclass
class Limits:
    lines: int = 10_000
    bytes: int = 1_000_000
    grace: float = 2.0  # seconds between SIGTERM and SIGKILL

    @classmethod
    def from_config(cls, raw: dict[str, Any]) -> Limits:
        """``[limits] script_log_lines, script_log_bytes, script_kill_grace`` in jobyard.toml."""
        section = raw.get("limits") if isinstance(raw.get("limits"), dict) else {}
        assert isinstance(section, dict)
        out = cls()
        for key, attr in (
            ("script_log_lines", "lines"),
            ("script_log_bytes", "bytes"),
            ("script_kill_grace", "grace"),
        ):
            value = section.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
                setattr(out, attr, type(getattr(out, attr))(value))
        return out


async def lines(stream: asyncio.StreamReader) -> AsyncIterator[tuple[float, bytes]]:
    """Yield (time read, line without its newline); a last unterminated line too."""
    pending = b""
    while True:
        chunk = await stream.read(65536)
        now = time.time()
        if not chunk:
            if pending:
                yield now, pending
            return
        pending += chunk
        while True:
            cut = pending.find(b"\n")
            if cut < 0:
                if len(pending) >= MAX_LINE:
                    yield now, pending[:MAX_LINE]
                    pending = pending[MAX_LINE:]
                    continue
                break
            line, pending = pending[:cut], pending[cut + 1 :]
            while len(line) > MAX_LINE:
                yield now, line[:MAX_LINE]
                line = line[MAX_LINE:]
            yield now, line.rstrip(b"\r")


def decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


class Sink:
    """Buffers a run's log entries and progress; a background task writes them."""

    def __init__(self, ctx: JobContext, limits: Limits) -> None:
        self.ctx = ctx
        self.limits = limits
        self.buffer: list[dict[str, Any]] = []
        self.count = 0
        self.size = 0
        self.truncated = False
        self.dropped = 0
        self.total = float(ctx.job.progress_total or 100)
        self.pending: tuple[float, float] | None = None
        self.lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    # -- producing -------------------------------------------------------------------------

    def output(self, text: str, level: str = "info", data: Any = None, when: float = 0.0) -> None:
        """A line of output (or a script's log call): counted against the bounds."""
        if self.truncated:
            self.dropped += 1
            return
        size = len(text.encode("utf-8", "replace"))
        if self.count >= self.limits.lines or self.size + size > self.limits.bytes:
            self.truncated = True
            self.dropped += 1
            self.note(
                f"output truncated: over {self.limits.lines} lines or {self.limits.bytes} "
                "bytes; the rest of this run's output is not kept",
                "warning",
            )
            return
        self.count += 1
        self.size += size
        self.note(text, level, data, when)

    def note(self, message: str, level: str = "info", data: Any = None, when: float = 0.0) -> None:
        """A message of jobyard's own about the run (never dropped).

        Every log entry of a run passes here: NUL bytes a script printed become a visible
        ``\\x00`` (PostgreSQL text cannot hold NUL; one such line used to sink the batch)."""
        job = self.ctx.job
        message = scrub_nul(message)
        self.buffer.append(log_entry(job.id, when or time.time(), message, level, job.run_id, data))

    def progress(self, current: float, total: float | None = None) -> None:
        if total is not None:
            self.total = total
        self.pending = (current, self.total)

    # -- writing ---------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        ticks = 0
        while not self._stop.is_set():
            try:
                await asyncio.wait_for(self._stop.wait(), PROGRESS_EVERY)
            except TimeoutError:
                pass
            ticks += 1
            try:
                await self._write_progress()
                if ticks * PROGRESS_EVERY >= LOG_EVERY or len(self.buffer) >= 1000:
                    ticks = 0
                    await self._write_logs()
            except Exception:  # a passing database error: keep the run, retry next tick
                log.exception("writing the output of job %s failed", self.ctx.job.id)

    async def close(self, guarded: bool = True) -> None:
        """Stop the writer and write what is left (unguarded: for a cancelled run)."""
        if self._task is not None:
            self._stop.set()
            await asyncio.shield(self._task)  # let a write in flight finish, in order
            self._task = None
        if self.dropped:
            self.note(f"{self.dropped} more line(s) of output were not kept", "warning")
        await self._write_progress()
        await self._write_logs(guarded)

    async def _write_progress(self) -> None:
        if self.pending is None or self.lost.is_set():
            return
        current, total = self.pending
        self.pending = None
        try:
            await asyncio.to_thread(self._set_progress, current, total)
        except LeaseLost:
            self.lost.set()

    def _set_progress(self, current: float, total: float) -> None:
        ctx = self.ctx  # written now (not buffered by the context): the sink debounces
        check_progress(current, total)
        ctx.port.progress(ctx.job.id, ctx.job.run_id, current, total, ctx.lease)
        ctx.job.progress_completed, ctx.job.progress_total = current, total

    async def _write_logs(self, guarded: bool = True) -> None:
        if not self.buffer or (guarded and self.lost.is_set()):
            return
        batch, self.buffer = self.buffer, []
        try:
            written = await asyncio.to_thread(self._append, batch, guarded)
        except BaseException:
            self.buffer[:0] = batch  # not written: try again with the next batch
            raise
        if not written:
            self.lost.set()

    def _append(self, entries: list[dict[str, Any]], guarded: bool) -> bool:
        ctx = self.ctx
        try:
            ctx.port.log(ctx.job.id, ctx.job.run_id, entries, ctx.lease, guarded=guarded)
        except LeaseLost:
            return False  # cancelled, or rescued by another worker: not ours to write
        return True
