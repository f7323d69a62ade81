"""A Babel extraction method for the CLI modules (babel.cfg): what Babel's Python method finds,
plus the help of each command — the docstring of a function under ``@….command(…)`` or
``@….group(…)`` — and every ``help="…"`` string, normalised as click shows them. No help
string can then be left out of the catalogue: the completeness test sees them all."""

from __future__ import annotations

import ast
import inspect
import io
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

from babel.messages.extract import extract_python

DECORATORS = ("command", "group")


def extract(
    fileobj: IO[bytes],
    keywords: Mapping[str, Any],
    comment_tags: Sequence[str],
    options: Any,
) -> Iterator[tuple[Any, ...]]:
    source = fileobj.read()
    yield from extract_python(io.BytesIO(source), keywords, comment_tags, options)
    # "gettext": a keyword Babel always knows, so the help is taken as one plain msgid
    yield from help_strings(source.decode(options.get("encoding", "utf-8")))


def help_strings(source: str) -> Iterator[tuple[int, str, str, list[str]]]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and any(map(_is_command, node.decorator_list)):
            doc = ast.get_docstring(node, clean=False)
            if doc and node.body:
                yield node.body[0].lineno, "gettext", _clean(doc), []
        elif (
            isinstance(node, ast.keyword)
            and node.arg == "help"
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            yield node.value.lineno, "gettext", _clean(node.value.value), []


def _is_command(decorator: ast.expr) -> bool:
    func = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(func, ast.Attribute) and func.attr in DECORATORS


def _clean(text: str) -> str:
    """As click shows it (jobyard.cli.helptext.translate_help looks up the same text)."""
    return inspect.cleandoc(text).partition("\f")[0]
