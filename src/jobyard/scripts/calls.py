"""Carrying out a script's calls (progress, emit, log, result), from stderr or the socket."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from jobyard.context import JobContext
from jobyard.errors import JobyardError
from jobyard.scripts.output import Sink, decode
from jobyard.scripts.protocol import Call, CallError, is_call_line, parse_line, parse_request, reply

log = logging.getLogger("jobyard.scripts")
MAX_REQUEST = 4 * 1024 * 1024  # bytes in one socket request line


class Calls:
    """One run's call handler; ``result`` holds the value of the last ``result()`` call."""

    def __init__(self, ctx: JobContext, sink: Sink) -> None:
        self.ctx = ctx
        self.sink = sink
        self.result: Any = None
        self.clients: set[asyncio.StreamWriter] = set()

    async def invoke(self, call: Call) -> Any:
        name, args = call.name, call.args
        if name == "progress":
            self.sink.progress(*args)
            return None
        if name == "log":
            self.sink.output(args[0], args[1], {"call": "log"})
            return None
        if name == "result":
            self.result = args[0]
            return None
        if name == "collection":
            try:
                return await asyncio.to_thread(self.ctx.port.collection, args)
            except JobyardError as exc:
                raise CallError(str(exc)) from None
        # emit: listeners get jobs now, in the store; this may take a moment
        try:
            event = await asyncio.to_thread(self.ctx.emit, args[0], args[1])
        except JobyardError as exc:
            raise CallError(str(exc)) from None
        return {"event": event.id, "jobs": event.jobs}

    async def stderr_line(self, when: float, raw: bytes) -> None:
        """A stderr line: a call, or output (a malformed call is output plus a warning)."""
        text = decode(raw)
        if not is_call_line(text):
            self.sink.output(text, "info", {"stream": "stderr"}, when)
            return
        try:
            call = parse_line(text)
            await self.invoke(call)
        except CallError as exc:
            self.sink.output(text, "info", {"stream": "stderr"}, when)
            self.sink.output(f"ignored a malformed call on stderr: {exc}", "warning")

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One socket client: a JSON request per line, a JSON reply per line."""
        self.clients.add(writer)
        try:
            while True:
                try:
                    raw = await reader.readline()
                except ValueError:  # longer than the stream's limit
                    writer.write(reply(False, error=f"request over {MAX_REQUEST} bytes"))
                    break
                if not raw:
                    break
                if not raw.strip():
                    continue
                try:
                    value = await self.invoke(parse_request(raw))
                    writer.write(reply(True, value))
                except CallError as exc:
                    writer.write(reply(False, error=str(exc)))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:  # a bug here must not end the run
            log.exception("socket client of job %s", self.ctx.job.id)
        finally:
            self.clients.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    def close_clients(self) -> None:
        for writer in list(self.clients):
            with contextlib.suppress(Exception):
                writer.close()
