"""Webhook: a JSON POST, signed when the observer has a secret.

Headers: ``X-Jobyard-Timestamp`` (Unix seconds), ``X-Jobyard-Signature``
(``sha256=`` + hex HMAC-SHA256 of ``TIMESTAMP.BODY`` with the secret), ``X-Jobyard-Delivery``
(``OBSERVER:EVENT_ID``, the same on every retry: a receiver drops repeats by it). A
receiver refuses a timestamp older than a few minutes, so a captured request cannot be
replayed later (docs/observers.md has a receiver's check)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from jobyard.observers.channels.posting import post
from jobyard.observers.render import Notification


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookChannel:
    def __init__(self, url: str, secret: str | None, timeout: float = 10.0) -> None:
        self.url = url
        self.secret = secret
        self.timeout = timeout

    def send(self, n: Notification) -> None:
        body = json.dumps(n.payload, ensure_ascii=False, default=str).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Jobyard-Timestamp": timestamp,
            "X-Jobyard-Delivery": f"{n.observer}:{n.event_id}",
            "X-Jobyard-Event": n.event_name,
        }
        if self.secret:
            headers["X-Jobyard-Signature"] = signature(self.secret, timestamp, body)
        post(self.url, body, headers, self.timeout)
