"""Slack incoming webhook: the payload (``{"text": ...}`` or the observer's own template)
POSTed as JSON to the webhook URL."""

from __future__ import annotations

import json

from jobyard.observers.channels.posting import post
from jobyard.observers.render import Notification


class SlackChannel:
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout

    def send(self, n: Notification) -> None:
        body = json.dumps(n.payload, ensure_ascii=False, default=str).encode()
        post(self.url, body, {"Content-Type": "application/json"}, self.timeout)
