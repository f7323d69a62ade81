"""DOT text and rendering through the real Graphviz ``dot``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dojobber import DummyJob
from jobyard.converge import build_graph, to_dot
from jobyard.converge.graph import (
    GraphvizFailed,
    GraphvizMissing,
    format_for,
    quote,
    render,
    write_file,
)
from jobyard.errors import InvalidInput


class Leaf(DummyJob):
    pass


class Mid(DummyJob):
    DEPS = (Leaf,)


class Other(DummyJob):
    pass


class Top(DummyJob):
    DEPS = (Mid, Other)


def test_plain_dot_without_outcomes() -> None:
    assert to_dot(build_graph(Top)) == (
        "digraph {\n"
        "  Top;\n"
        "  Mid;\n"
        "  Leaf;\n"
        "  Other;\n"
        "  Top -> Mid;\n"
        "  Top -> Other;\n"
        "  Mid -> Leaf;\n"
        "}\n"
    )


def test_colours_per_outcome() -> None:
    dot = to_dot(build_graph(Top), {"Leaf": "passed", "Mid": "converged", "Other": "failed"})
    assert "  Leaf [style=filled, color=green];\n" in dot
    assert "  Mid [style=filled, color=darkgreen];\n" in dot
    assert "  Other [style=filled, color=red];\n" in dot
    assert "  Top;\n" in dot


@pytest.mark.parametrize(
    ("name", "quoted"),
    [
        ("Plain_1", "Plain_1"),
        ("Invite Lawyer Cat", '"Invite Lawyer Cat"'),
        ("node", '"node"'),
        ("Ping[host=a]", '"Ping[host=a]"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("9lives", '"9lives"'),
    ],
)
def test_quoting(name: str, quoted: str) -> None:
    assert quote(name) == quoted


def test_render_svg_and_png_with_real_dot() -> None:
    assert shutil.which("dot"), "Graphviz must be installed for these tests"
    source = to_dot(build_graph(Top), {"Leaf": "passed"})
    svg = render(source, "svg").decode()
    assert "<svg" in svg and ">Leaf<" in svg and 'fill="green"' in svg
    assert render(source, "png").startswith(b"\x89PNG\r\n\x1a\n")


def test_quoted_names_render() -> None:
    odd = type("Odd", (DummyJob,), {"DEPS": ["Invite Lawyer Cat"]})
    svg = render(to_dot(build_graph(odd)), "svg").decode()
    assert "Invite Lawyer Cat" in svg


def test_render_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(GraphvizFailed, match="Cannot create dot graphs via dot -Tnope"):
        render("digraph { A; }", "nope")
    with pytest.raises(InvalidInput):
        render("digraph { A; }", "png; rm -rf /")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GraphvizMissing, match="Graphviz 'dot' program is not installed"):
        render("digraph { A; }", "svg")


@pytest.mark.parametrize(
    ("suffix", "magic"),
    [(".dot", b"digraph {"), (".gv", b"digraph {"), (".svg", b"<?xml"), (".png", b"\x89PNG")],
)
def test_write_file_by_extension(tmp_path: Path, suffix: str, magic: bytes) -> None:
    target = tmp_path / f"graph{suffix}"
    write_file(build_graph(Top), target)
    assert target.read_bytes().startswith(magic)


def test_write_file_refuses_unknown_extensions(tmp_path: Path) -> None:
    for name in ("graph.jpg", "graph"):
        with pytest.raises(InvalidInput, match="unknown graph file extension"):
            format_for(tmp_path / name)
    assert format_for("x.SVG") == "svg"
    with pytest.raises(InvalidInput, match="cannot write"):
        write_file(build_graph(Top), tmp_path / "missing-dir" / "g.dot")
