"""Every message in src has a Russian translation, and the same placeholders.

The msgids come from the source itself (Babel's extraction over babel.cfg: the Python code
and the Jinja2 templates), not from jobyard.pot, so a message added without running
tools/i18n.sh fails here too, named with its file and line."""

from __future__ import annotations

import re
import string
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "src/jobyard/locale/ru/LC_MESSAGES/jobyard.po"
KEYWORDS = {"_": None, "n_": (1, 2), "N_": None, "gettext": None, "ngettext": (1, 2)}
PERCENT = re.compile(r"%\((\w+)\)[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|%[diouxXeEfFgGcrsa%]")


def extracted() -> dict[str | tuple[str, str], list[str]]:
    with open(ROOT / "babel.cfg", encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    found: dict[str | tuple[str, str], list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message if isinstance(message, str) else (message[0], message[1])
        found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def placeholders(text: str) -> set[str]:
    """The named fields (with conversion and spec) of a brace msgid, or the %-fields of a
    Jinja2 one: what the code fills in, so a translation must keep them all."""
    names: set[str] = set()
    try:
        for _lit, field, spec, conv in string.Formatter().parse(text):
            if field is not None:
                names.add(f"{{{field}{'!' + conv if conv else ''}{':' + spec if spec else ''}}}")
    except ValueError:
        names.add("<unbalanced braces>")
    names.update(m.group(0) for m in PERCENT.finditer(text) if m.group(0) != "%%")
    return names


def catalog() -> Catalog:
    with open(PO, encoding="utf-8") as f:
        return read_po(f, locale="ru")


def test_every_message_is_translated_into_russian() -> None:
    ru = catalog()
    problems = []
    for msgid, where in sorted(extracted().items(), key=lambda kv: str(kv[0])):
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        entry = ru.get(key)
        at = where[0]
        if entry is None:
            problems.append(f"{at}: no Russian entry for {key!r}")
        elif entry.fuzzy:
            problems.append(f"{at}: fuzzy (unchecked) translation of {key!r}")
        elif isinstance(msgid, tuple) != isinstance(entry.id, tuple):
            problems.append(f"{at}: {key!r} is plural in one of the code and the catalogue only")
        else:
            forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
            if not all(forms) or len(forms) != (3 if isinstance(msgid, tuple) else 1):
                problems.append(f"{at}: empty or missing Russian form for {key!r}")
    assert not problems, "run tools/i18n.sh and translate:\n" + "\n".join(problems)


def test_translations_keep_the_placeholders() -> None:
    problems = []
    for entry in catalog():
        if not entry.id:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        want = placeholders(ids[-1])
        for form in forms:
            if form and placeholders(form) != want:
                problems.append(f"{ids[0]!r}: {sorted(want)} but {form!r}")
    assert not problems, "\n".join(problems)


def test_the_catalogue_holds_no_stale_messages() -> None:
    """An entry no code uses any more is dead weight a translator would keep up."""
    used = {m[0] if isinstance(m, tuple) else m for m in extracted()}
    stale = [
        e.id
        for e in catalog()
        if e.id and (e.id[0] if isinstance(e.id, tuple) else e.id) not in used
    ]
    assert not stale, f"not in the code any more (run tools/i18n.sh): {stale}"


def test_the_checks_catch_a_bad_translation() -> None:
    assert placeholders("job {id} is {status!r} after {t:g} s") == {"{id}", "{status!r}", "{t:g}"}
    assert placeholders("задание {id}") != placeholders("job {id} {status}")
    assert placeholders("%(n)s of %(total)s") == {"%(n)s", "%(total)s"}
