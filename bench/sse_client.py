"""A lean SSE client for bench/sse.py: one asyncio connection, HTTP/1.1, chunked frames
read straight off the socket (a hundred of them share one process and one core with the
rest of the bench, so each costs as little as it can). It keeps every event id it gets and
each event's delay (arrival minus the event's own time), and reconnects with
``Last-Event-ID`` when the server ends the stream (a ``dropped`` event, or a closed socket).
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime


class Client:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.ids: list[int] = []
        self.delays: list[float] = []
        self.first = 0.0  # arrival time of the first and last event
        self.last = 0.0
        self.last_id = 0
        self.drops = 0
        self.reconnects = 0
        self.connected = False
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    def rate(self) -> float:
        """Events per second over this client's own window."""
        span = self.last - self.first
        return len(self.ids) / span if span > 0 else 0.0

    async def run(self) -> None:
        reading = asyncio.ensure_future(self._loop())
        stopping = asyncio.ensure_future(self._stop.wait())
        await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
        for t in (reading, stopping):
            t.cancel()
        await asyncio.gather(reading, stopping, return_exceptions=True)
        if reading.done() and not reading.cancelled() and reading.exception():
            raise reading.exception()  # type: ignore[misc]

    async def _loop(self) -> None:
        while True:
            await self._connect_once()
            self.reconnects += 1

    async def _connect_once(self) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        try:
            resume = f"Last-Event-ID: {self.last_id}\r\n" if self.last_id else ""
            writer.write(
                f"GET /api/v1/stream HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Accept: text/event-stream\r\n{resume}\r\n".encode()
            )
            head = await reader.readuntil(b"\r\n\r\n")
            status = head.split(b" ", 2)[1]
            if status != b"200" or b"chunked" not in head.lower():
                raise RuntimeError(f"the stream answered {head[:200]!r}")
            self.connected = True
            buf = b""
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    return
                buf += (await reader.readexactly(size + 2))[:-2]
                while (end := buf.find(b"\n\n")) >= 0:
                    frame, buf = buf[:end], buf[end + 2 :]
                    if self._frame(frame):
                        return  # dropped: reconnect from last_id
        finally:
            writer.close()

    def _frame(self, frame: bytes) -> bool:
        """Handle one SSE frame; True when the server dropped this client."""
        if not frame.startswith(b"id: "):
            if frame.startswith(b"event: dropped"):
                self.drops += 1
                return True
            return False  # "retry:" and ": ping"
        now = time.time()
        head, _, data = frame.partition(b"\ndata: ")
        event_id = int(head[4 : head.index(b"\n")])
        sent = datetime.fromisoformat(json.loads(data)["time"]).timestamp()
        self.ids.append(event_id)
        self.delays.append(now - sent)
        self.last_id = max(self.last_id, event_id)
        self.first = self.first or now
        self.last = now
        return False
