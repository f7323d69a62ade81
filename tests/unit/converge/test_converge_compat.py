"""DoJobber semantics of the compat module, on small graphs of our own."""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import Any

import pytest

import dojobber
from dojobber import DoJobber, DummyJob, Job, RunonlyJob
from jobyard.converge import compat
from jobyard.errors import ConvergeError, JobyardError


def run(root: type, *args: Any, **options: Any) -> DoJobber:
    kwargs = options.pop("kwargs", {})
    dojob = DoJobber()
    dojob.configure(root, default_retry_delay=0, **options)
    dojob.set_args(*args, **kwargs)
    dojob.checknrun()
    return dojob


# --- the shim ---------------------------------------------------------------------------


def test_shim_exposes_the_original_names() -> None:
    for name in ("Job", "DummyJob", "RunonlyJob", "DoJobber", "DISPLAY"):
        assert getattr(dojobber, name) is getattr(compat, name)
    assert issubclass(RunonlyJob, Job) and issubclass(DummyJob, Job)


# --- RunonlyJob -------------------------------------------------------------------------


class Kettle(RunonlyJob):
    def Run(self, *args: Any, **kwargs: Any) -> str:
        kwargs["calls"].append("Kettle")
        return "boiled"


class BrokenKettle(RunonlyJob):
    def Run(self, *args: Any, **kwargs: Any) -> None:
        kwargs["calls"].append("BrokenKettle")
        raise RuntimeError("the kettle is broken")


def test_runonly_success_returns_run_result() -> None:
    calls: list[str] = []
    dojob = run(Kettle, kwargs={"calls": calls})
    assert dojob.nodestatus == {"Kettle": True}
    assert dojob.noderesults == {"Kettle": "boiled"}
    assert dojob.success() and dojob.partial_success() and not dojob.failure()
    assert calls == ["Kettle"]


def test_runonly_failure_reraises_run_exception_with_fractional_tries() -> None:
    calls: list[str] = []
    dojob = run(BrokenKettle, default_tries=1.1, kwargs={"calls": calls})
    assert dojob.nodestatus == {"BrokenKettle": False}
    assert str(dojob.nodeexceptions["BrokenKettle"]) == "the kettle is broken"
    # 1.1 tries: a first try leaves 0.1 > 0, so DoJobber tries once more.
    assert calls == ["BrokenKettle", "BrokenKettle"]
    assert not dojob.success() and dojob.failure()


@pytest.mark.parametrize("root", [Kettle, BrokenKettle])
def test_runonly_in_no_act_is_false_and_never_runs(root: type) -> None:
    calls: list[str] = []
    dojob = run(root, no_act=True, kwargs={"calls": calls})
    assert dojob.nodestatus == {root.__name__: False}
    message = str(dojob.nodeexceptions[root.__name__])
    assert message == "Runonly node check intentionally fails first time."
    assert calls == []


# --- Cleanup ----------------------------------------------------------------------------

CLEANED: list[str] = []


class Tidy(Job):
    def Check(self, *a: Any, **k: Any) -> None:
        if not self.storage.get("done"):
            raise ValueError("untidy")

    def Run(self, *a: Any, **k: Any) -> None:
        self.storage["done"] = True

    def Cleanup(self) -> None:
        CLEANED.append(type(self).__name__)


class TidyFirst(Tidy):
    pass


class TidySecond(Tidy):
    DEPS = (TidyFirst,)


class TidyTop(DummyJob):
    DEPS = (TidySecond,)

    def Cleanup(self) -> None:
        CLEANED.append("TidyTop")


@pytest.fixture(autouse=True)
def _clear() -> None:
    CLEANED.clear()


def test_cleanup_runs_after_checknrun_in_lifo_order() -> None:
    dojob = run(TidyTop)
    assert dojob.success()
    assert CLEANED == ["TidyTop", "TidySecond", "TidyFirst"]


def test_cleanup_false_defers_cleanup_until_called() -> None:
    dojob = run(TidyTop, cleanup=False)
    assert CLEANED == []
    dojob.cleanup()
    assert CLEANED == ["TidyTop", "TidySecond", "TidyFirst"]


class Explodes(Job):
    DEPS = (TidyFirst,)

    def Check(self, *a: Any, **k: Any) -> None:
        pass

    def Cleanup(self) -> None:
        raise OSError("cannot unmount")


class AfterExplodes(DummyJob):
    DEPS = (Explodes,)

    def Cleanup(self) -> None:
        CLEANED.append("AfterExplodes")


def test_first_cleanup_error_is_reported_and_reraised(capsys: pytest.CaptureFixture[str]) -> None:
    dojob = DoJobber()
    dojob.configure(AfterExplodes, default_retry_delay=0)
    with pytest.raises(OSError, match="cannot unmount"):
        dojob.checknrun()
    # the graph was fully processed before the cleanups ran
    assert dojob.nodestatus == {"TidyFirst": True, "Explodes": True, "AfterExplodes": True}
    # LIFO: AfterExplodes cleaned, Explodes failed, TidyFirst never reached
    assert CLEANED == ["AfterExplodes"]
    assert 'Explodes.cleanup: fail "cannot unmount"' in capsys.readouterr().err


# --- success / partial success -------------------------------------------------------


class Fine(DummyJob):
    pass


class NeverFine(Job):
    DEPS = (Fine,)

    def Check(self, *a: Any, **k: Any) -> None:
        raise RuntimeError("nope")

    def Run(self, *a: Any, **k: Any) -> None:
        pass


def test_success_before_and_after_runs() -> None:
    dojob = DoJobber()
    assert dojob.nodestatus == {} and not dojob.success() and not dojob.partial_success()
    assert dojob.failure()
    dojob.configure(Fine)
    assert not dojob.success() and not dojob.partial_success()
    dojob.checknrun()
    assert dojob.success() and dojob.partial_success()

    dojob = run(NeverFine)
    assert dojob.nodestatus == {"Fine": True, "NeverFine": False}
    assert not dojob.success() and dojob.partial_success() and dojob.failure()


def test_methods_needing_a_graph_fail_before_configure() -> None:
    with pytest.raises(RuntimeError, match="configure"):
        DoJobber().checknrun()


# --- broken __init__ --------------------------------------------------------------------


class Sibling(DummyJob):
    pass


class Base(DummyJob):
    pass


class BadInit(Job):
    DEPS = (Base,)

    def __init__(self) -> None:
        raise RuntimeError("constructor exploded")

    def Check(self, *a: Any, **k: Any) -> None:
        pass

    def Cleanup(self) -> None:
        CLEANED.append("BadInit")


class NeedsBadInit(DummyJob):
    DEPS = (BadInit,)


class InitRoot(DummyJob):
    DEPS = (NeedsBadInit, Sibling)


def test_broken_init_is_false_dependents_none_siblings_unaffected(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="DoJobber")
    dojob = DoJobber(dojobber_loglevel=logging.ERROR)
    dojob.configure(InitRoot, default_retry_delay=0, default_tries=2)
    dojob.checknrun()
    assert dojob.nodestatus == {
        "Base": True,
        "BadInit": False,
        "NeedsBadInit": None,
        "Sibling": True,
        "InitRoot": None,
    }
    assert str(dojob.nodeexceptions["BadInit"]) == "constructor exploded"
    assert CLEANED == []  # no object was created, so no Cleanup
    assert 'Could not create Job "BadInit" - check its __init__' in caplog.text


# --- user code exceptions never crash the runner ----------------------------------------


class CheckKeyError(Job):
    def Check(self, *a: Any, **k: Any) -> None:
        raise KeyError("missing")

    def Run(self, *a: Any, **k: Any) -> None:
        raise ZeroDivisionError("run failed too")


class NoMethods(Job):
    """Neither Check nor Run: AttributeErrors are just failures."""


class Survivor(DummyJob):
    pass


class CrashRoot(DummyJob):
    DEPS = (CheckKeyError, NoMethods, Survivor)


def test_exceptions_in_check_and_run_are_only_failures() -> None:
    dojob = run(CrashRoot)
    assert dojob.nodestatus == {
        "CheckKeyError": False,
        "NoMethods": False,
        "Survivor": True,
        "CrashRoot": None,
    }
    assert isinstance(dojob.nodeexceptions["CheckKeyError"], KeyError)
    assert isinstance(dojob.nodeexceptions["NoMethods"], AttributeError)


# --- storage, global storage, arguments, working directory ------------------------------


class PerTry(Job):
    TRIES = 3

    def Check(self, *a: Any, **k: Any) -> None:
        if self.storage.get("runs", 0) < 2:
            raise ValueError(f"runs={self.storage.get('runs', 0)}")

    def Run(self, *a: Any, **k: Any) -> None:
        self.storage["runs"] = self.storage.get("runs", 0) + 1


class Shared(Job):
    TRIES = 3

    def Check(self, *a: Any, **k: Any) -> None:
        if self.global_storage.get("runs", 0) < 2:
            raise ValueError("not yet")

    def Run(self, *a: Any, **k: Any) -> None:
        self.global_storage["runs"] = self.global_storage.get("runs", 0) + 1


def test_storage_is_fresh_on_every_try_global_storage_is_shared() -> None:
    dojob = run(PerTry)
    assert dojob.nodestatus == {"PerTry": False}
    assert str(dojob.nodeexceptions["PerTry"]) == "runs=1"  # never accumulates
    dojob = run(Shared)
    assert dojob.nodestatus == {"Shared": True}


class Producer(Job):
    def Check(self, *args: Any, **kwargs: Any) -> None:
        if "token" not in self.global_storage:
            raise LookupError("no token")

    def Run(self, *args: Any, **kwargs: Any) -> None:
        self.global_storage["token"] = (args, kwargs["suffix"])


class Consumer(Job):
    DEPS = (Producer,)

    def Check(self, *args: Any, **kwargs: Any) -> object:
        return self.global_storage["token"]


def test_set_args_reach_check_and_run_and_results_are_kept() -> None:
    dojob = run(Consumer, "a", "b", kwargs={"suffix": "!"})
    assert dojob.noderesults["Consumer"] == (("a", "b"), "!")
    assert dojob.noderesults["Producer"] is None


class Wanderer(Job):
    def Check(self, *a: Any, **k: Any) -> None:
        if not self.global_storage.get("wandered"):
            raise LookupError("not yet")

    def Run(self, *a: Any, **k: Any) -> None:
        os.chdir(k["elsewhere"])
        self.global_storage["wandered"] = True


class Homebody(Job):
    DEPS = (Wanderer,)

    def Check(self, *a: Any, **k: Any) -> str:
        return os.getcwd()


def test_each_step_starts_in_the_directory_of_checknrun(tmp_path: Path) -> None:
    start = os.getcwd()
    dojob = run(Homebody, kwargs={"elsewhere": str(tmp_path)})
    assert dojob.noderesults["Homebody"] == os.path.realpath(start)
    assert os.getcwd() == start


# --- DEPS by name, duck-typed jobs --------------------------------------------------------


class ByName(DummyJob):
    DEPS = ["NamedLater", "NoSuchJob"]


class NamedLater(DummyJob):
    pass


class NameRoot(DummyJob):
    DEPS = (ByName, NamedLater)


class Plain:
    """Not a Job subclass at all."""

    def Check(self, *a: Any, **k: Any) -> object:
        return self.storage, self.global_storage  # type: ignore[attr-defined]


def test_dependencies_named_by_string_and_plain_classes() -> None:
    dojob = run(NameRoot)
    assert dojob.nodestatus == {
        "NamedLater": True,
        "NoSuchJob": False,
        "ByName": None,
        "NameRoot": None,
    }
    assert "NoSuchJob" in str(dojob.nodeexceptions["NoSuchJob"])
    dojob = run(Plain)
    assert dojob.noderesults["Plain"] == ({}, {})


def test_checknrun_of_a_sub_graph() -> None:
    dojob = DoJobber()
    dojob.configure(CrashRoot, default_retry_delay=0)
    dojob.checknrun(Survivor)
    assert dojob.nodestatus == {"Survivor": True}
    assert dojob.success()


# --- write_graph / display_graph ---------------------------------------------------------


def test_write_graph_png_svg_and_text_mode_file(tmp_path: Path) -> None:
    dojob = run(CrashRoot)
    binary = io.BytesIO()
    dojob.write_graph(binary)
    assert binary.getvalue().startswith(b"\x89PNG\r\n\x1a\n")
    svg = io.BytesIO()
    dojob.write_graph(svg, "svg")
    assert b"<svg" in svg.getvalue() and b"CheckKeyError" in svg.getvalue()
    target = tmp_path / "g.png"
    with open(target, "w") as text_mode:  # DoJobber's own example opens with 'w'
        dojob.write_graph(text_mode)
    assert target.read_bytes().startswith(b"\x89PNG")


def test_write_graph_errors_and_missing_dot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dojob = run(CrashRoot)
    with pytest.raises(RuntimeError, match="Cannot create dot graphs via dot -Tnot-a-format"):
        dojob.write_graph(io.BytesIO(), "not-a-format")
    monkeypatch.setenv("PATH", str(tmp_path))
    out = io.BytesIO()
    dojob.write_graph(out)
    assert out.getvalue() == b""
    assert "no dot executable - install graphviz" in capsys.readouterr().err
    dojob.display_graph()  # no dot, no display: silently nothing


def test_dot_text_is_coloured_by_outcome() -> None:
    dojob = run(Homebody, kwargs={"elsewhere": "."})
    assert dojob.dot() == (
        "digraph {\n"
        "  Homebody [style=filled, color=green];\n"
        "  Wanderer [style=filled, color=darkgreen];\n"
        "  Homebody -> Wanderer;\n"
        "}\n"
    )


# --- errors are DoJobber's types and jobyard's -----------------------------------------


def test_configure_errors_are_also_jobyard_errors() -> None:
    class Loop(Job):
        pass

    Loop.DEPS = (Loop,)
    with pytest.raises(RuntimeError) as caught:
        DoJobber().configure(Loop)
    assert isinstance(caught.value, ConvergeError) and isinstance(caught.value, JobyardError)
