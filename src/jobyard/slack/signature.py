"""Slack's request signature (v0) and the guard against replays.

Slack signs every request: ``X-Slack-Signature: v0=`` + hex HMAC-SHA256 of
``v0:{X-Slack-Request-Timestamp}:{raw body}`` with the app's signing secret. A request is
refused (AuthError: HTTP 401) when the signature is missing or wrong, when its timestamp is
more than five minutes from now (a captured request cannot be used later), and when the
same signature was seen already inside that window (nor again now)."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

from jobyard.errors import AuthError
from jobyard.i18n import _

MAX_AGE = 300.0  # seconds: Slack's own advice


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return "v0=" + mac.hexdigest()


def verify(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float
) -> None:
    """Refuse an unsigned, badly signed or stale request with one line saying which."""
    if not timestamp or not signature:
        raise AuthError(_("not a Slack request: X-Slack-Signature and its timestamp are missing"))
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise AuthError(_("bad X-Slack-Request-Timestamp: Unix seconds expected"))
    if abs(now - int(timestamp)) > MAX_AGE:
        raise AuthError(
            _(
                "stale Slack request: its timestamp is more than 5 minutes from this server's "
                "clock (a replay, or a clock that is off: check NTP)"
            )
        )
    if not hmac.compare_digest(sign(secret, timestamp, body), signature):
        raise AuthError(_("bad Slack signature: check [slack] signing_secret"))


class ReplayGuard:
    """The signatures of the last five minutes, so a captured request sent again inside
    its window is refused too. Kept in the store (``use_nonce``): every web process of
    the server refuses a repeat, whichever of them saw the request first."""

    def __init__(self, use_nonce: Callable[[str, float, float], bool],
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self.use_nonce = use_nonce
        self.clock = clock

    def check(self, signature: str) -> None:
        # Twice the window: a request stamped up to MAX_AGE ahead of this clock is still
        # remembered when it would stop being refused as stale.
        if not self.use_nonce(signature, self.clock(), 2 * MAX_AGE):
            raise AuthError(_("replayed Slack request: this signature was used already"))
