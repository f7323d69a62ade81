"""The Slack Web API: one JSON POST per call, the bot token in the Authorization header
(never in a URL, a log or a message). Slack answers HTTP 200 with ``{"ok": false,
"error": ...}`` for most refusals; both kinds of failure are a SlackError naming the
method and Slack's reason."""

from __future__ import annotations

import json
from typing import Any

import httpx

from jobyard.errors import JobyardError
from jobyard.i18n import _


class SlackError(JobyardError):
    """A Web API call failed (the far end refused, timed out or was unreachable)."""


class SlackClient:
    def __init__(self, api_url: str, token: str, timeout: float) -> None:
        self.api_url = api_url.rstrip("/")
        self._token = token
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"SlackClient({self.api_url!r})"

    def call(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(payload, ensure_ascii=False, default=str).encode()
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Content-Type": "application/json; charset=utf-8",
        }
        try:
            with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
                answer = client.post(f"{self.api_url}/{method}", content=body, headers=headers)
        except httpx.TimeoutException:
            raise SlackError(
                _(
                    "Slack {method}: timed out after {timeout:g} s",
                    method=method,
                    timeout=self.timeout,
                )
            ) from None
        except httpx.HTTPError as exc:
            raise SlackError(f"Slack {method}: {type(exc).__name__}") from None
        if answer.status_code == 429:
            wait = answer.headers.get("retry-after", "?")
            raise SlackError(
                _(
                    "Slack {method}: rate limited (retry after {wait} s)",
                    method=method,
                    wait=wait[:10],
                )
            )
        if not 200 <= answer.status_code < 300:
            raise SlackError(f"Slack {method}: HTTP {answer.status_code}")
        try:
            found = answer.json()
        except ValueError:
            raise SlackError(_("Slack {method}: the answer is not JSON", method=method)) from None
        if not isinstance(found, dict) or found.get("ok") is not True:
            reason = found.get("error") if isinstance(found, dict) else None
            raise SlackError(f"Slack {method}: {str(reason or 'not ok')[:100]}")
        return found
