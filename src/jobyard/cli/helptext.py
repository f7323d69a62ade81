"""``--help`` and click's own messages in the reader's language.

Help strings are fixed when a command is defined (at import, before ``--lang`` is read), so
they are kept English — the msgid — and translated when help is *formatted*: the ``Command``
and ``Group`` classes here swap in the translation for the length of one ``format_help`` or
``get_short_help_str`` call. Every command of the CLI uses them (a test walks the tree).
Extraction: jobyard.cli.help_extract (babel.cfg) finds docstrings and ``help=`` strings.

click translates its own messages ("No such option", "Usage:", "Show this message and exit.")
with stdlib gettext, bound in each of its modules as ``from gettext import gettext as _``.
``install_click_gettext`` rebinds those names to jobyard's catalogue (the msgids are listed in
jobyard.cli.click_messages). It replaces only names that are still stdlib's functions, and
tests fail when a click upgrade changes the mechanism or a msgid.
"""

from __future__ import annotations

import gettext
import inspect
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from jobyard import i18n


def translate_help(text: str | None) -> str | None:
    """The help text ``text`` (a docstring or ``help=``) in the current language."""
    if not text:
        return text
    return i18n.gettext_now(inspect.cleandoc(text).partition("\f")[0])


@contextmanager
def _swapped(objects: list[Any], attrs: tuple[str, ...]) -> Iterator[None]:
    saved = [(obj, attr, getattr(obj, attr, None)) for obj in objects for attr in attrs]
    try:
        for obj, attr, value in saved:
            if isinstance(value, str):
                setattr(obj, attr, translate_help(value))
        yield
    finally:
        for obj, attr, value in saved:
            setattr(obj, attr, value)


class Translated(click.Command):
    """Help (the command's and each option's) translated at format time."""

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        params = list(self.get_params(ctx))
        with _swapped([self], ("help", "epilog")), _swapped(params, ("help",)):
            super().format_help(ctx, formatter)

    def get_short_help_str(self, limit: int = 45) -> str:
        with _swapped([self], ("help", "short_help")):
            return super().get_short_help_str(limit)


class Command(Translated):
    pass


class Group(Translated, click.Group):
    command_class = Command
    group_class = type  # subgroups made with @group.group() are of this group's class


def install_click_gettext() -> int:
    """Make click's own messages come from jobyard's catalogue (idempotent); returns how
    many click modules now do."""
    done = 0
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "click" or name.startswith("click.")):
            continue
        if getattr(module, "_", None) is gettext.gettext:
            module._ = _click_gettext  # type: ignore[attr-defined]
        if getattr(module, "ngettext", None) is gettext.ngettext:
            module.ngettext = _click_ngettext  # type: ignore[attr-defined]
        if getattr(module, "_", None) is _click_gettext:
            done += 1
    return done


def _click_gettext(message: str) -> str:
    return i18n.gettext_now(message)


def _click_ngettext(singular: str, plural: str, n: int) -> str:
    return i18n.ngettext_now(singular, plural, n)
