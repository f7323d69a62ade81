"""MODULE:ROOT loading, name=value parsing, and the live tree / plan rendering."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from dojobber import DummyJob, Job
from jobyard.converge import RootNotFound, converge, load_root, plan
from jobyard.converge.display import LiveTree, describe_error, plan_summary, run_summary
from jobyard.converge.resolve import parse_assignments
from jobyard.converge.session import graph_and_driver, run_graph
from jobyard.errors import InvalidInput


def test_parse_assignments() -> None:
    assert parse_assignments(["a=1", "b=x y", "c=true", 'd=["h1","h2"]', "e=", "f=a=b"]) == {
        "a": 1,
        "b": "x y",
        "c": True,
        "d": ["h1", "h2"],
        "e": "",
        "f": "a=b",
    }
    for bad in ("novalue", "=1", "not-ident=1"):
        with pytest.raises(InvalidInput, match="expected name=value"):
            parse_assignments([bad])


def test_load_root_from_a_file_and_a_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = (
        "from dojobber import DummyJob\n"
        "class Root(DummyJob):\n"
        "    class Inner(DummyJob):\n"
        "        pass\n"
    )
    (tmp_path / "rootmod_for_tests.py").write_text(source)
    by_path = load_root(f"{tmp_path / 'rootmod_for_tests.py'}:Root")
    assert isinstance(by_path, type) and by_path.__name__ == "Root"
    monkeypatch.chdir(tmp_path)
    inner = load_root("rootmod_for_tests:Root.Inner")
    assert isinstance(inner, type) and inner.__name__ == "Inner"


def test_load_root_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "raises_on_import.py").write_text("raise ValueError('bad config')\n")
    (tmp_path / "exits_on_import.py").write_text("import sys\nsys.exit(3)\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        RootNotFound, match="cannot import raises_on_import: ValueError: bad config"
    ):
        load_root("raises_on_import:X")
    with pytest.raises(RootNotFound, match=r"it called exit\(3\)"):
        load_root("exits_on_import:X")
    with pytest.raises(InvalidInput):
        load_root(":X")
    with pytest.raises(RootNotFound, match="not a Job or Node class"):
        load_root("os:sep")


class Ok(Job):
    def Check(self, *a: Any, **k: Any) -> None:
        pass


class Ran(Job):
    DEPS = (Ok,)

    def Check(self, *a: Any, **k: Any) -> None:
        if not self.storage:
            raise ValueError("not yet")

    def Run(self, *a: Any, **k: Any) -> None:
        self.storage["x"] = 1


class Bad(Job):
    TRIES = 2

    def Check(self, *a: Any, **k: Any) -> None:
        raise RuntimeError("bad\nthing")

    def Run(self, *a: Any, **k: Any) -> None:
        pass


class Top(DummyJob):
    DEPS = (Ran, Bad, Ok)


def render(renderable: Any) -> str:
    console = Console(width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(renderable)
    return console.export_text()


def test_live_tree_follows_events() -> None:
    graph, driver = graph_and_driver(Top, default_retry_delay=0)
    tree = LiveTree(graph)
    assert render(tree.render()).splitlines()[0] == "○ Top"
    updates: list[object] = []

    class FakeLive:
        def update(self, renderable: object) -> None:
            updates.append(renderable)

    tree.live = FakeLive()
    result = run_graph(graph, driver, listeners=[tree])
    tree.finish()
    text = render(tree.render())
    assert text.splitlines() == [
        "○ Top blocked",
        "├── ✔ Ran converged after run",
        "│   └── ✔ Ok",
        "├── ✘ Bad (try 2/2) RuntimeError: bad thing",
        "└── ✔ Ok",
    ]
    assert len(updates) > 10
    summary = render(run_summary(result))
    assert "not converged: 2 true, 1 failed, 1 blocked of 4" in summary
    assert "✘ Bad: RuntimeError: bad thing" in summary


def test_plan_rendering() -> None:
    result = plan(Top)
    text = render(plan_summary(result))
    assert "already true (1): Ok" in text
    assert "would run (2): Ran, Bad" in text
    assert "Ran: ValueError: not yet" in text
    assert "would run after their dependencies (1): Top" in text
    assert "nothing to do" not in text
    assert "nothing to do" in render(plan_summary(plan(Ok)))
    assert "converged: 1 nodes true (0 after a run)" in render(run_summary(converge(Ok)))


def test_describe_error_is_one_short_line() -> None:
    assert describe_error(None) == ""
    text = describe_error(ValueError("x" * 500), limit=50)
    assert len(text) == 50 and text.endswith("…") and text.startswith("ValueError: ")
