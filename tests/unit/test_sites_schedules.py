"""Schedules lowered to dependencies, and shell command forms (pure parts)."""

from __future__ import annotations

import pytest

from jobyard.errors import InvalidInput
from jobyard.sites.commands import Capture, display, env_prefix, render
from jobyard.sites.schedule import Pair, lower

PAIRS = [
    Pair(0, "init", "a"),
    Pair(0, "init", "b"),
    Pair(1, "hello", "a"),
    Pair(1, "hello", "b"),
    Pair(2, "world", "a"),
]


def test_site_sequential_is_a_chain_per_site() -> None:
    assert lower(PAIRS, "site-sequential", None) == [[], [], [0], [1], [2]]


def test_sequential_puts_a_barrier_between_steps() -> None:
    assert lower(PAIRS, "sequential", None) == [[], [], [0, 1], [0, 1], [2, 3]]


def test_atomic_is_one_chain_and_parallel_is_none() -> None:
    assert lower(PAIRS, "atomic", None) == [[], [0], [1], [2], [3]]
    assert lower(PAIRS, "parallel", None) == [[]] * 5


def test_serial_rolls_over_groups_of_sites() -> None:
    pairs = [Pair(s, "x", site) for s in (0, 1) for site in "abcd"]
    deps = lower(pairs, "site-sequential", 2)
    # a, b start at once; c and d start once a and b have done both steps
    assert deps[0] == [] and deps[1] == []
    assert deps[2] == [4, 5] and deps[3] == [4, 5]
    assert deps[4] == [0] and deps[6] == [2]


def test_unknown_schedule_and_serial_elsewhere_are_refused() -> None:
    with pytest.raises(InvalidInput, match="unknown schedule 'fast'; use one of"):
        lower(PAIRS, "fast", None)
    with pytest.raises(InvalidInput, match="serial"):
        lower(PAIRS, "parallel", 2)


def test_command_forms_keep_values_as_data() -> None:
    evil = "x'; touch /tmp/pwned; echo '"
    assert render(("echo", evil)) == "echo 'x'\"'\"'; touch /tmp/pwned; echo '\"'\"''"
    assert display(["cd /srv", ("ls", "a b")]) == "cd /srv && ls 'a b'"
    assert render("true") == "true"
    assert env_prefix({"A": "$(id)"}) == "A='$(id)'; export A; "
    for bad in ("", [], ["ok", 5], 3):
        with pytest.raises(InvalidInput):
            render(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="variable name"):
        env_prefix({"A;rm": "x"})


def test_capture_limit_and_lines() -> None:
    lines: list[tuple[str, str]] = []
    cap = Capture(5, lambda s, line: lines.append((s, line)))
    cap.feed("stdout", b"hello wor")
    cap.feed("stdout", b"ld\nsecond")
    cap.feed("stderr", b"oops\n")
    result = cap.result("s", "cmd", 0)
    assert (result.stdout, result.stderr, result.truncated) == ("hello", "oops\n", True)
    assert lines == [("stdout", "hello world"), ("stderr", "oops"), ("stdout", "second")]
    none = Capture(0)
    none.feed("stdout", b"abc")
    assert none.result("s", "c", 0).stdout == ""


def test_the_cli_and_actions_do_not_import_asyncssh_until_a_shell_runs() -> None:
    import subprocess
    import sys

    code = (
        "import sys, jobyard.cli.main as m; m.build(); from jobyard import Yard; "
        "y = Yard('sqlite://:memory:'); y.sites.add('a', 'app'); "
        "y.action('app')(lambda ctx: None); print('asyncssh' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
