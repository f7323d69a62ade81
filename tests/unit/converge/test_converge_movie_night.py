"""The spec's test cases on the movie night example (examples/dojobber_movie_night.py)."""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import dojobber

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "dojobber_movie_night.py"


def load_example(name: str = "movie_night_example") -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


movie = load_example()

ALL_TRUE = dict.fromkeys(
    [
        "CleanCouch",
        "DetermineDetails",
        "FindTVRemote",
        "FluffPillows",
        "Food",
        "FriendsArrive",
        "InsertDVD",
        "InviteFriends",
        "PickTimeAndDate",
        "Pizza",
        "Popcorn",
        "PopcornBowl",
        "PrepareRoom",
        "SitOnCouch",
        "StartMovie",
        "ValidateMovie",
        "TurnOnTV",
        "WatchMovie",
    ],
    True,
)
DEFAULT = {
    **ALL_TRUE,
    "SitOnCouch": False,
    "TurnOnTV": False,
    "StartMovie": None,
    "WatchMovie": None,
}


def watch(root: Any = None, *args: Any, **kwargs: Any) -> dojobber.DoJobber:
    options = kwargs.pop("options", {})
    dojob = dojobber.DoJobber()
    dojob.configure(root or movie.WatchMovie, default_retry_delay=0, **options)
    dojob.set_args(*args, **kwargs)
    dojob.checknrun()
    return dojob


def test_default_example() -> None:
    dojob = watch(None, "arg1", movie="Noises Off", battery_state="dead")
    assert len(DEFAULT) == 18
    assert dojob.nodestatus == DEFAULT
    assert not dojob.success()
    assert str(dojob.nodeexceptions["TurnOnTV"]) == "Remote batteries are dead."
    assert str(dojob.nodeexceptions["SitOnCouch"]) == "No space on couch."


def test_success_example() -> None:
    dojob = watch(None, "arg1", movie="MST3K", battery_state="charged", couch_space=True)
    assert dojob.nodestatus == ALL_TRUE
    assert dojob.success()
    assert dojob.noderesults["Pizza"] == "pepperoni"


def test_cleanup_runs() -> None:
    report: dict[str, Any] = {}
    watch(None, "arg1", report=report)
    assert report == {"duster_returned": True}


def test_cleanup_can_be_deferred() -> None:
    report: dict[str, Any] = {}
    dojob = watch(None, "arg1", report=report, options={"cleanup": False})
    assert report == {}
    dojob.cleanup()
    assert report == {"duster_returned": True}


def test_success_conditions_on_sub_graphs() -> None:
    dojob = watch()
    assert not dojob.success() and dojob.partial_success()

    dojob = dojobber.DoJobber()
    dojob.configure(movie.PrepareRoom, default_retry_delay=0)
    assert not dojob.success()
    dojob.checknrun()
    assert dojob.success() and dojob.partial_success()
    assert set(dojob.nodestatus) == {"PrepareRoom", "CleanCouch", "FluffPillows"}

    dojob = watch(movie.TurnOnTV)
    assert dojob.nodestatus == {"FindTVRemote": True, "TurnOnTV": False}
    assert not dojob.success() and dojob.partial_success()


@pytest.mark.parametrize(
    ("extra", "changes"),
    [
        ({}, {}),
        ({"bowl_success_try": 9}, {"PopcornBowl": False, "Popcorn": None, "Food": None}),
        ({"pop_success_try": 6}, {"Popcorn": False, "Food": None}),
        (
            {"pop_success_try": 6, "pizza_success_try": 4},
            {"Popcorn": False, "Pizza": False, "Food": None},
        ),
    ],
)
def test_retry(extra: dict[str, int], changes: dict[str, bool | None]) -> None:
    tries = {
        "bowl_success_try": movie.PopcornBowl.TRIES,
        "pop_success_try": movie.Popcorn.TRIES,
        "pizza_success_try": movie.Pizza.TRIES,
    }
    assert (movie.PopcornBowl.TRIES, movie.Popcorn.TRIES, movie.Pizza.TRIES) == (8, 5, 3)
    dojob = watch(None, "arg1", movie="Noises Off", battery_state="dead", **{**tries, **extra})
    assert dojob.nodestatus == {**DEFAULT, **changes}


def test_dynamic_invitations_add_nodes() -> None:
    fresh = load_example("movie_night_with_guests")
    fresh.invite_friends(["Wendell Bagg", "Lawyer Cat", "Wendell Bagg"])
    dojob = dojobber.DoJobber()
    dojob.configure(fresh.WatchMovie, default_retry_delay=0)
    dojob.set_args(movie="MST3K", battery_state="charged", couch_space=True)
    dojob.checknrun()
    assert len(dojob.nodestatus) == 20
    assert dojob.nodestatus["Invite Wendell Bagg"] is True
    assert dojob.nodestatus["Invite Lawyer Cat"] is True
    assert dojob.success()


def test_no_act_plan() -> None:
    dojob = watch(None, movie="MST3K", options={"no_act": True})
    assert {name for name, ok in dojob.nodestatus.items() if ok} == {
        "ValidateMovie",
        "FindTVRemote",
        "InsertDVD",
    }
    assert {name for name, ok in dojob.nodestatus.items() if ok is False} == {
        "PickTimeAndDate",
        "CleanCouch",
        "FluffPillows",
        "TurnOnTV",
        "PopcornBowl",
        "Pizza",
    }


def test_example_script_runs(tmp_path: Path) -> None:
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}
    failing = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, env=env, timeout=60
    )
    assert failing.returncode == 1, failing.stderr
    assert "FAILED   TurnOnTV  (Remote batteries are dead.)" in failing.stdout
    assert "blocked  WatchMovie" in failing.stdout
    assert "no movie tonight." in failing.stdout

    graph = tmp_path / "night.png"
    args = ["--battery-state", "charged", "--couch-space", "--guest", "Ann", "--graph", str(graph)]
    passing = subprocess.run(
        [sys.executable, str(EXAMPLE), *args], capture_output=True, text=True, env=env, timeout=60
    )
    assert passing.returncode == 0, passing.stderr
    assert "ok       Invite Ann" in passing.stdout
    assert "movie night is on!" in passing.stdout
    assert "(the feather duster was put away)" in passing.stdout
    assert graph.read_bytes().startswith(b"\x89PNG")


def test_example_main_in_process(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO, logger="movie_night")
    assert movie.main(["--movie", "MST3K", "--battery-state", "charged", "--couch-space"]) == 0
    assert "movie night is on!" in capsys.readouterr().out
    assert movie.main(["--movie", "Zardoz", "-n"]) == 1
    out = capsys.readouterr().out
    assert "FAILED   ValidateMovie  (Zardoz not one of the available movies.)" in out
