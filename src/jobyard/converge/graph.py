"""DOT text for a converge graph, and rendering through Graphviz ``dot``.

The DOT text never needs Graphviz::

    digraph {
      WatchMovie [style=filled, color=green];
      StartMovie;
      WatchMovie -> StartMovie;
    }

Edges go from the dependent node to its dependency. A node's colour tells how its last
try ended: ``green`` its first Check passed, ``darkgreen`` it passed after a Run,
``red`` it failed; a node that was not tried has no attributes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from jobyard.converge.model import Graph
from jobyard.converge.runner import Outcome
from jobyard.errors import ConvergeError, InvalidInput
from jobyard.i18n import _

__all__ = [
    "COLORS",
    "FILE_FORMATS",
    "GraphvizFailed",
    "GraphvizMissing",
    "display",
    "find_dot",
    "format_for",
    "quote",
    "render",
    "to_dot",
    "write_file",
]

COLORS: Mapping[Outcome, str] = {"passed": "green", "converged": "darkgreen", "failed": "red"}

#: file extension -> Graphviz output format (``None``: plain DOT text, no Graphviz needed)
FILE_FORMATS: Mapping[str, str | None] = {".dot": None, ".gv": None, ".svg": "svg", ".png": "png"}

_ID = re.compile(r"[A-Za-z_\x80-\uffff][A-Za-z0-9_\x80-\uffff]*")
_KEYWORDS = {"node", "edge", "graph", "digraph", "subgraph", "strict"}
_FORMAT = re.compile(r"[A-Za-z0-9_.:-]+")


class GraphvizMissing(ConvergeError):
    """The Graphviz ``dot`` program is not installed or not on ``PATH``."""


class GraphvizFailed(ConvergeError, RuntimeError):
    """``dot`` ran but failed (a ``RuntimeError``, as in DoJobber)."""


def quote(name: str) -> str:
    """``name`` as a DOT identifier, quoted only when it has to be."""
    if _ID.fullmatch(name) and name.lower() not in _KEYWORDS:
        return name
    escaped = name.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def to_dot(graph: Graph, outcomes: Mapping[str, Outcome] | None = None) -> str:
    """The graph as DOT text, nodes coloured by ``outcomes`` (node name -> outcome)."""
    outcomes = outcomes or {}
    lines = ["digraph {"]
    for name in graph.specs:
        outcome = outcomes.get(name)
        if outcome is None:
            lines.append(f"  {quote(name)};")
        else:
            lines.append(f"  {quote(name)} [style=filled, color={COLORS[outcome]}];")
    lines.extend(f"  {quote(src)} -> {quote(dst)};" for src, dst in graph.edges())
    lines.append("}")
    return "\n".join(lines) + "\n"


def find_dot() -> str | None:
    """Path of the Graphviz ``dot`` program, or None."""
    return shutil.which("dot")


def render(source: str, fmt: str = "png", *, dot: str | None = None) -> bytes:
    """Run ``dot -T<fmt>`` on DOT ``source`` and return its output."""
    if not _FORMAT.fullmatch(fmt):
        raise InvalidInput(_("invalid Graphviz output format {fmt!r}", fmt=fmt))
    exe = dot or find_dot()
    if exe is None:
        raise GraphvizMissing(
            _(
                "cannot render -T{fmt}: the Graphviz 'dot' program is not installed or not on "
                "PATH (install graphviz, e.g. `apt-get install graphviz`, or write a .dot file)",
                fmt=fmt,
            )
        )
    command = [exe, f"-T{fmt}"]
    try:
        proc = subprocess.run(command, input=source.encode(), capture_output=True, check=False)
    except OSError as err:
        raise GraphvizMissing(_("cannot run {exe!r}: {err}", exe=exe, err=err)) from err
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()
        why = f": {detail[0]}" if detail else ""
        raise GraphvizFailed(_("Cannot create dot graphs via dot -T{fmt}{why}", fmt=fmt, why=why))
    return proc.stdout


def format_for(path: str | Path) -> str | None:
    """The Graphviz format for an output file name (None = DOT text); checks the suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in FILE_FORMATS:
        known = ", ".join(FILE_FORMATS)
        shown = suffix or "no extension"
        raise InvalidInput(
            _(
                "unknown graph file extension ({shown}) for {path}: use one of {known}",
                shown=shown,
                path=path,
                known=known,
            )
        )
    return FILE_FORMATS[suffix]


def write_file(
    graph: Graph, path: str | Path, outcomes: Mapping[str, Outcome] | None = None
) -> None:
    """Write the graph to ``path`` as DOT, SVG or PNG according to its extension."""
    fmt = format_for(path)
    source = to_dot(graph, outcomes)
    data = source.encode() if fmt is None else render(source, fmt)
    try:
        Path(path).write_bytes(data)
    except OSError as err:
        raise InvalidInput(
            _("cannot write {path}: {value}", path=path, value=err.strerror or err)
        ) from err


def display(image: bytes) -> None:
    """Show an image with ImageMagick's ``display`` (silently nothing if it is missing)."""
    exe = shutil.which("display")
    if exe is None:
        return
    proc = subprocess.run([exe], input=image, check=False)
    if proc.returncode != 0:
        raise RuntimeError('Cannot show graph using "display"')
