"""Configure-time errors, no-act, and the verbose/debug lines of the compat module."""

from __future__ import annotations

from typing import Any

import pytest

from dojobber import DoJobber, DummyJob, Job, RunonlyJob


def configure(root: type, **options: Any) -> DoJobber:
    dojob = DoJobber()
    dojob.configure(root, **options)
    return dojob


# --- configure-time errors ---------------------------------------------------------------


class Leaf(DummyJob):
    pass


def make(name: str, **attrs: Any) -> type:
    return type(name, (DummyJob,), attrs)


def test_cycle_is_a_runtime_error_mentioning_cycles() -> None:
    first = make("First")
    second = make("Second", DEPS=(first,))
    first.DEPS = [Leaf, second]  # type: ignore[attr-defined]
    top = make("Top", DEPS=(first,))
    with pytest.raises(RuntimeError, match="cycles") as caught:
        configure(top)
    assert "First -> Second -> First" in str(caught.value)


def test_self_dependency_is_a_cycle() -> None:
    selfish = make("Selfish")
    selfish.DEPS = (selfish,)  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError, match="cycles"):
        configure(selfish)


@pytest.mark.parametrize("deps", [Leaf, 5, None, "Leaf"])
def test_deps_that_are_not_an_iterable_of_jobs_are_a_type_error(deps: object) -> None:
    with pytest.raises(TypeError, match="DEPS for Wrong"):
        configure(make("Wrong", DEPS=deps))


def test_deps_holding_a_non_job_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="not a Job class"):
        configure(make("Wrong", DEPS=(Leaf, 42)))


@pytest.mark.parametrize("tries", [0, 0.5, -1, 0.99])
def test_tries_below_one_are_refused(tries: float) -> None:
    with pytest.raises(RuntimeError) as caught:
        configure(make("Few", TRIES=tries))
    assert str(caught.value).endswith("must be >= 1.")
    with pytest.raises(RuntimeError, match=r"must be >= 1\.$"):
        configure(make("Few"), default_tries=tries)


def test_tries_must_be_a_number_and_fractions_are_accepted() -> None:
    with pytest.raises(RuntimeError, match="TRIES"):
        configure(make("Wordy", TRIES="three"))
    dojob = configure(make("Fraction", TRIES=1.1))
    assert dojob.graph is not None and dojob.graph["Fraction"].tries == 1.1


@pytest.mark.parametrize("delay", [-1, -0.001])
def test_negative_retry_delay_is_refused(delay: float) -> None:
    with pytest.raises(RuntimeError, match="cannot be negative"):
        configure(make("Hasty", RETRY_DELAY=delay))
    with pytest.raises(RuntimeError, match="cannot be negative"):
        configure(make("Hasty"), default_retry_delay=delay)


def test_errors_deep_in_the_graph_are_found_at_configure_time() -> None:
    bad = make("Bad", TRIES=0)
    middle = make("Middle", DEPS=(Leaf, bad))
    with pytest.raises(RuntimeError, match=r'Bad: TRIES "0" must be >= 1\.'):
        configure(make("Root", DEPS=(middle,)))


# --- no_act ----------------------------------------------------------------------------

RAN: list[str] = []


class Ready(Job):
    def Check(self, *a: Any, **k: Any) -> None:
        pass

    def Run(self, *a: Any, **k: Any) -> None:
        RAN.append("Ready")


class Pending(Job):
    DEPS = (Ready,)
    TRIES = 5

    def Check(self, *a: Any, **k: Any) -> None:
        raise LookupError("not there yet")

    def Run(self, *a: Any, **k: Any) -> None:
        RAN.append("Pending")


class After(Job):
    DEPS = (Pending,)

    def Check(self, *a: Any, **k: Any) -> None:
        pass


def test_no_act_runs_one_phase_of_checks_and_no_run(capsys: pytest.CaptureFixture[str]) -> None:
    RAN.clear()
    dojob = configure(After, no_act=True, verbose=True, default_retry_delay=0)
    dojob.checknrun()
    assert dojob.nodestatus == {"Ready": True, "Pending": False, "After": None}
    assert RAN == []
    assert capsys.readouterr().err == "Ready.check: pass\nPending.check: fail\n"
    assert not dojob.success()


# --- verbose / debug lines ----------------------------------------------------------------


class Passes(Job):
    def Check(self, *a: Any, **k: Any) -> None:
        pass


class Converges(Job):
    DEPS = (Passes,)

    def Check(self, *a: Any, **k: Any) -> None:
        if not self.storage:
            raise ValueError("first")

    def Run(self, *a: Any, **k: Any) -> None:
        self.storage["ok"] = 1


class RunBreaks(Job):
    DEPS = (Converges,)
    TRIES = 1

    def Check(self, *a: Any, **k: Any) -> None:
        raise ValueError("still broken")

    def Run(self, *a: Any, **k: Any) -> None:
        raise OSError("run broke")

    def Cleanup(self) -> None:
        pass


class CannotBuild(RunonlyJob):
    TRIES = 1

    def __init__(self) -> None:
        raise RuntimeError("no")


class Verbose(DummyJob):
    DEPS = (RunBreaks, CannotBuild)


def test_verbose_lines(capsys: pytest.CaptureFixture[str]) -> None:
    dojob = configure(Verbose, verbose=True, default_retry_delay=0)
    dojob.checknrun()
    assert capsys.readouterr().err.splitlines() == [
        "Passes.check: pass",
        "Converges.check: fail",
        "Converges.run: pass",
        "Converges.recheck: pass",
        "RunBreaks.check: fail",
        "RunBreaks.run: fail",
        'RunBreaks.recheck: fail "still broken"',
        "CannotBuild.check: fail",
    ]


def test_quiet_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    configure(Verbose, default_retry_delay=0).checknrun()
    assert capsys.readouterr().err == ""


def test_debug_implies_verbose_and_adds_tracebacks(capsys: pytest.CaptureFixture[str]) -> None:
    configure(Verbose, debug=True, default_retry_delay=0).checknrun()
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert lines[:6] == [
        "Passes.check: pass",
        "Converges.check: fail",
        "Converges.run: pass",
        "Converges.recheck: pass",
        "RunBreaks.check: fail",
        "RunBreaks.run: fail",
    ]
    assert lines[6:8] == ["  Error was:", "  Traceback (most recent call last):"]
    assert "  OSError: run broke" in lines
    assert 'RunBreaks.recheck: fail "still broken"' in lines
    assert "  ValueError: still broken" in lines
    assert any(line.startswith("  Could not create job, error was Traceback") for line in lines)
    assert "  RuntimeError: no" in lines
    # debug also shows cleanups
    assert lines[-2:] == ["RunBreaks.cleanup running", "RunBreaks.cleanup: pass"]


def test_debug_no_act_shows_the_check_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    configure(RunBreaks, debug=True, no_act=True).checknrun()
    lines = capsys.readouterr().err.splitlines()
    assert lines[:3] == [
        "Passes.check: pass",
        "Converges.check: fail",
        "  Error was:",
    ]
    assert "  ValueError: first" in lines
