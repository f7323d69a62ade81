"""Terminal output where user text is always data.

Every console the CLI prints to comes from :func:`console`: markup is off, so a queue
name, job data, an error or a log line holding ``[/]`` or ``[bold]x[/]`` is printed as
it is, never parsed (parsing crashed on ``[/]`` and silently ate ``[ok]``). Styling is
applied by :func:`styled`, which wraps the text in a ``Text`` with a style instead of
markup tags.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.text import Text


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, markup=False, highlight=False)


def styled(text: str, style: str = "") -> Text:
    return Text(text, style=style)


def value(v: Any) -> str:
    """A field's value as people read it: strings bare, everything else as JSON."""
    if isinstance(v, str):
        return v
    return json.dumps(v, ensure_ascii=False, default=str)


def when(ts: float | None) -> str:
    """An epoch time as local time to the second, or ``-``."""
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, tz=UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S")
