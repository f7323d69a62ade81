"""One JSON POST, the shared part of the Slack and webhook channels."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from jobyard.observers.channels import ChannelError


def redact(url: str) -> str:
    """A URL as messages show it: scheme and host only (a Slack webhook's path and many
    query strings are its secret)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/..." if parts.netloc else "(url)"


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> None:
    """POST ``body``; a 2xx answer is success, anything else a ChannelError."""
    where = redact(url)
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            answer = client.post(url, content=body, headers=dict(headers))
    except httpx.TimeoutException:
        raise ChannelError(f"POST {where}: timed out after {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise ChannelError(f"POST {where}: {type(exc).__name__}: {exc}") from None
    if not 200 <= answer.status_code < 300:
        raise ChannelError(f"POST {where}: HTTP {answer.status_code} {answer.text[:200]!r}")
