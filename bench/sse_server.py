"""The server of bench/sse.py: the app ``jobyard web --no-auth`` serves (create_web_app with
NoAuth, under uvicorn, same options) plus one path of its own, ``GET /_bench/fanout``, with
the counters the bench compares: the fan-out's reads (``Fanout.reads``: the polls of the one
live reader), every read of the event log by the server (``log_reads``: the live reader and
any client's catch-up after a reconnect) and the number of subscribers.

    JOBYARD_DB=sqlite:///... python bench/sse_server.py PORT
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import uvicorn  # noqa: E402

from jobyard import Yard  # noqa: E402
from jobyard.api.auth import NoAuth  # noqa: E402
from jobyard.web.app import create_web_app  # noqa: E402


def main() -> None:
    port = int(sys.argv[1])
    yard = Yard(os.environ["JOBYARD_DB"])
    yard.migrate()
    store = yard.store
    log_reads = [0]
    read = store.job_events_after

    def counted(*args: Any, **kwargs: Any) -> Any:
        log_reads[0] += 1
        return read(*args, **kwargs)

    store.job_events_after = counted  # type: ignore[method-assign]
    app = create_web_app(yard, NoAuth())

    async def with_counters(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/_bench/fanout":
            fan = app.state.jobyard.extra.get("fanout")
            body = {
                "reads": fan.reads if fan else 0,
                "subscribers": len(fan.subscribers) if fan else 0,
                "log_reads": log_reads[0],
            }
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": json.dumps(body).encode()})
            return
        await app(scope, receive, send)

    uvicorn.run(with_counters, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
