"""The machinery behind a Russian ``--help`` and Russian click errors: every command of the
CLI translates its help, click's gettext names are rebound, and each click msgid that
jobyard translates is still one click uses (an upgrade that rewords one fails here)."""

from __future__ import annotations

import gettext
import importlib
import pkgutil
from pathlib import Path

import click
from babel.messages.extract import extract_from_dir

from jobyard import i18n
from jobyard.cli import click_messages, helptext
from jobyard.cli.help_extract import help_strings
from jobyard.cli.main import build


def _walk(command: click.Command) -> list[click.Command]:
    found = [command]
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            found += _walk(sub)
    return found


def test_every_command_translates_its_help() -> None:
    plain = [c.name for c in _walk(build()) if not isinstance(c, helptext.Translated)]
    assert not plain, f"use cls=Command / cls=Group from jobyard.cli.helptext: {plain}"


def test_help_is_translated_at_format_time_and_left_english() -> None:
    cmd = build().commands["semaphores"]
    ctx = click.Context(cmd, info_name="semaphores")
    with i18n.use("ru"):
        ru = cmd.get_help(ctx)
        short = cmd.get_short_help_str(80)
    assert "Каждый семафор" in ru and "Напечатать JSON." in ru
    assert short.startswith("Каждый семафор")
    assert cmd.help is not None and cmd.help.startswith("Each semaphore")  # not overwritten
    assert "Print JSON." in cmd.get_help(ctx)


def test_click_gettext_is_rebound_in_every_click_module() -> None:
    for info in pkgutil.iter_modules(click.__path__, "click."):
        if "win" not in info.name:
            importlib.import_module(info.name)
    assert helptext.install_click_gettext() >= 5
    assert helptext.install_click_gettext() >= 5  # idempotent
    import sys

    left = [
        name
        for name, module in sys.modules.items()
        if (name == "click" or name.startswith("click."))
        and module is not None
        and (
            getattr(module, "_", None) is gettext.gettext
            or getattr(module, "ngettext", None) is gettext.ngettext
        )
    ]
    assert not left, f"click modules still on stdlib gettext: {left}"
    with i18n.use("ru"):
        err = click.exceptions.NoSuchOption("--nope", possibilities=["--prop"])
        assert err.format_message() == "Нет такого параметра '--nope'. Может быть, '--prop'?"
    assert click.exceptions.NoSuchOption("--nope").format_message() == "No such option '--nope'."


def test_the_click_msgids_are_clicks() -> None:
    used: set[str | tuple[str, str]] = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(Path(click.__file__).parent), keywords={"_": None, "ngettext": (1, 2)}
    ):
        used.add(message if isinstance(message, str) else (message[0], message[1]))
    ours = set(click_messages.MESSAGES) | set(click_messages.PLURALS)
    assert ours - used == set(click_messages.COMPUTED), "update jobyard.cli.click_messages"
    core = (Path(click.__file__).parent / "core.py").read_text()
    for msgid in click_messages.COMPUTED:  # click passes these to _() from a variable
        assert f'"{msgid}"' in core, msgid


def test_help_extraction_finds_docstrings_and_help_options() -> None:
    source = '''
@click.command(cls=Command)
@click.option("--x", help="""  The x.
  Second line.""")
def go() -> None:
    """Do it.

    More.\f
    hidden"""
'''
    found = [m for _l, _f, m, _c in help_strings(source)]
    assert sorted(found) == ["Do it.\n\nMore.", "The x.\nSecond line."]
