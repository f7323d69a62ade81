"""User text in Slack messages stays data: Slack's mrkdwn gives ``<``, ``>`` and ``&``
their meaning (``<!channel>`` pings everyone, ``<url|text>`` is a link), so they are
escaped as Slack documents; Slack's own escaping of a command's text is undone first."""

from __future__ import annotations

MAX_SHOWN = 500


def escape(text: object, limit: int = MAX_SHOWN) -> str:
    """``text`` shown as itself, cut to ``limit`` characters."""
    s = str(text)
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """A command's text as the user typed it (Slack sends ``&``, ``<``, ``>`` escaped)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
