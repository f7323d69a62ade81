"""Messages in the reader's language: English (the msgids themselves) and Russian.

The current language is a ContextVar: the CLI sets it once at startup (``--lang`` or
``JOBYARD_LANG``), the HTTP API and the web UI per request (``?lang=``, a cookie,
``Accept-Language``). Messages are translated *when they are made*: an error raised deep
in the library carries the text of the language current at the raise, so ``str(exc)``
is the message everywhere (no msgid to carry and render later at each face). Plain threads
start with the default context, so a worker thread writes English into the store.

Placeholders are named and brace-style (``_("job {id} is {status}", id=..., status=...)``)
so a translation may reorder them. Catalogues are ``locale/<lang>/LC_MESSAGES/jobyard.po``,
read with Babel on first use of that language (no compile step, the same from a clone and a
wheel). See docs/i18n.md for adding and translating a message.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from importlib.resources import files
from typing import Any

DOMAIN = "jobyard"
DEFAULT = "en"
LANGUAGES = ("en", "ru")

_current: ContextVar[str] = ContextVar("jobyard_lang", default=DEFAULT)


def normalize(value: str | None) -> str | None:
    """``ru``, ``RU``, ``ru-RU``, ``ru_RU.UTF-8`` → ``ru``; None for a language not shipped."""
    if not value:
        return None
    base = value.strip().replace("_", "-").split(".")[0].split("-")[0].lower()
    return base if base in LANGUAGES else None


def choose(value: str) -> str:
    """A language named by the user (``--lang``, ``JOBYARD_LANG``: ``ru``, ``ru_RU.UTF-8``);
    ValueError with the one line to show when it is not shipped. The line is English: the
    language is not known yet."""
    lang = normalize(value)
    if lang is None:
        raise ValueError(f"unknown language {value!r}; choose one of: {', '.join(LANGUAGES)}")
    return lang


def negotiate(accept_language: str | None) -> str:
    """The best shipped language of an ``Accept-Language`` header (q-values honoured, ties
    in header order); English when none is shipped or the header is malformed."""
    best, best_q = DEFAULT, 0.0
    for item in (accept_language or "")[:1000].split(",")[:50]:
        tag, _sep, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _eq, raw = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(raw)
                except ValueError:
                    q = 0.0
        if not 0.0 < q <= 1.0:
            continue
        lang = DEFAULT if tag.strip() == "*" else normalize(tag)
        if lang is not None and q > best_q:
            best, best_q = lang, q
    return best


def current() -> str:
    return _current.get()


def set_language(lang: str) -> None:
    """Set the language of this context (the CLI at startup). ``lang`` must be shipped."""
    _current.set(lang if lang in LANGUAGES else DEFAULT)


@contextmanager
def use(lang: str) -> Iterator[None]:
    """Messages made inside the block are in ``lang`` (a request, a test)."""
    token = _current.set(lang if lang in LANGUAGES else DEFAULT)
    try:
        yield
    finally:
        _current.reset(token)


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The catalogue of ``lang``, read once; English and a missing file translate nothing."""
    if lang == DEFAULT or lang not in LANGUAGES:
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    po = files("jobyard").joinpath("locale", lang, "LC_MESSAGES", f"{DOMAIN}.po")
    try:
        text = po.read_text(encoding="utf-8")
    except FileNotFoundError:
        return gettext.NullTranslations()
    catalog = read_po(io.StringIO(text), locale=lang, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)  # fuzzy entries left out: an unchecked guess reads as English
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def _format(text: str, kw: dict[str, Any]) -> str:
    return text.format(**kw)


def _(msgid: str, /, **kw: Any) -> str:
    """``msgid`` in the current language, its ``{name}`` placeholders filled from ``kw``."""
    return _format(translations(_current.get()).gettext(msgid), kw)


def n_(singular: str, plural: str, n: int, /, **kw: Any) -> str:
    """The plural form for ``n`` (Russian has three); ``{n}`` is filled with ``n``."""
    return _format(translations(_current.get()).ngettext(singular, plural, n), {"n": n, **kw})


def N_(msgid: str, /) -> str:
    """Mark a msgid for extraction without translating it (module constants, translated
    later with ``_(constant)``)."""
    return msgid


def gettext_now(msgid: str) -> str:
    """Plain gettext in the current language, for Jinja2 (which formats with ``%``)."""
    return translations(_current.get()).gettext(msgid)


def ngettext_now(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)
