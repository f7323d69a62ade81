"""The Jinja2 environment of the web UI: autoescape always on, copy through gettext in the
request's language (jobyard.i18n), and the filters the templates share."""

from __future__ import annotations

import json
import time
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from jobyard import i18n
from jobyard.i18n import _
from jobyard.model import iso, priority_name


def when(ts: float | None) -> Markup:
    """A time as ``<time>``: UTC ISO text and title; the page script rewrites the text in
    the viewer's zone (the title keeps UTC on hover)."""
    if ts is None:
        return Markup("<span class=muted>—</span>")
    text = iso(ts) or ""
    return Markup('<time datetime="{0}" title="{0}">{0}</time>').format(text)


def ago(ts: float | None) -> str:
    if ts is None:
        return "—"
    return _("{duration} ago", duration=duration(max(time.time() - ts, 0.0)))


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = float(seconds)
    if s < 1:
        return _("{ms:.0f} ms", ms=s * 1000)
    if s < 60:
        return _("{s:.1f} s", s=s)
    if s < 3600:
        return _("{min} min {s} s", min=int(s // 60), s=int(s % 60))
    if s < 86400:
        return _("{h} h {min} min", h=int(s // 3600), min=int(s % 3600 // 60))
    return _("{d} d {h} h", d=int(s // 86400), h=int(s % 86400 // 3600))


def pretty(value: Any) -> str:
    """JSON for a <pre> (escaped by autoescape like any other text)."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def short(value: Any, n: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= n else text[: n - 1] + "…"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("jobyard.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Looked up at each call, so one environment serves every request's language.
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext_now, i18n.ngettext_now, newstyle=True
    )
    env.filters.update(
        when=when, ago=ago, duration=duration, pretty=pretty, short=short, priority=priority_name
    )
    env.globals["escape"] = escape
    return env


def render(template: str, /, **context: Any) -> str:
    return environment().get_template(template).render(**context)
