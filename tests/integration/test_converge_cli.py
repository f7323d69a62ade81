"""``jobyard converge`` and ``jobyard graph`` as real ``python -m jobyard`` processes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "dojobber_movie_night.py"
MOVIE = f"{EXAMPLE}:WatchMovie"
DOT_DIR = str(Path(shutil.which("dot") or "/usr/bin/dot").parent)

NODES = textwrap.dedent(
    '''
    """Native nodes for the CLI tests."""
    from jobyard.converge import Group, Node


    class HostReady(Node):
        def __init__(self, host):
            super().__init__(host=host)
            self.host = host

        def check(self):
            return self.host not in self.args.get("down", [])

        def run(self):
            pass


    class Fleet(Group):
        def requires(self):
            return [HostReady(host=h) for h in self.args["hosts"]]


    class AllGood(Group):
        deps = [Fleet]


    class Loop(Group):
        pass


    Loop.deps = [Loop]
    NOT_A_CLASS = 42
    '''
)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "fleetnodes.py").write_text(NODES)
    (tmp_path / "brokenmod.py").write_text("import not_installed_anywhere\n")
    return tmp_path


def jobyard(
    *args: str, cwd: Path | None = None, path: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        "PYTHONPATH": str(ROOT / "src"),
        "PATH": path if path is not None else f"{DOT_DIR}:/usr/bin:/bin",
        "COLUMNS": "200",
        "LC_ALL": "C.UTF-8",
        "HOME": os.environ.get("HOME", "/tmp"),
    }
    return subprocess.run(
        [sys.executable, "-m", "jobyard", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd or ROOT,
        timeout=120,
    )


# --- converge ------------------------------------------------------------------------


def test_help_lists_the_commands() -> None:
    proc = jobyard("--help")
    assert proc.returncode == 0
    assert "converge" in proc.stdout and "graph" in proc.stdout
    proc = jobyard("converge", "--help")
    assert "--no-act" in proc.stdout and "name=value" in proc.stdout


def test_converge_success_exits_0_with_a_tree() -> None:
    args = ["movie=MST3K", "battery_state=charged", "couch_space=true"]
    proc = jobyard("converge", MOVIE, "--retry-delay", "0", *args)
    assert proc.returncode == 0, proc.stderr
    assert "✔ WatchMovie" in proc.stdout
    assert "└── ✔ StartMovie" in proc.stdout
    assert "✔ PopcornBowl converged after run (try 8/8)" in proc.stdout
    assert "converged: 18 nodes true" in proc.stdout


def test_converge_failure_exits_1_and_names_the_failures() -> None:
    proc = jobyard("converge", MOVIE, "--retry-delay", "0", "movie=Noises Off")
    assert proc.returncode == 1, proc.stderr
    assert "✘ TurnOnTV (try 3/3) RuntimeError: Remote batteries are dead." in proc.stdout
    assert "○ WatchMovie blocked" in proc.stdout
    assert "not converged: 14 true, 2 failed, 2 blocked of 18" in proc.stdout
    assert "blocked: StartMovie, WatchMovie" in proc.stdout


def test_verbose_lines_go_to_stderr() -> None:
    proc = jobyard("converge", MOVIE, "-v", "--retry-delay", "0", "movie=MST3K")
    assert proc.returncode == 1
    assert "TurnOnTV.check: fail\nTurnOnTV.run: pass\n" in proc.stderr
    assert 'TurnOnTV.recheck: fail "Remote batteries are dead."' in proc.stderr
    assert "ValidateMovie.check: pass" in proc.stderr


def test_no_act_prints_the_plan() -> None:
    proc = jobyard("converge", MOVIE, "--no-act", "movie=MST3K")
    assert proc.returncode == 1
    assert "Plan (no-act" in proc.stdout
    assert "already true (3): ValidateMovie, FindTVRemote, InsertDVD" in proc.stdout
    assert (
        "would run (6): PickTimeAndDate, CleanCouch, FluffPillows, TurnOnTV, PopcornBowl, Pizza"
        in proc.stdout
    )
    assert "TurnOnTV: RuntimeError: Remote batteries are dead." in proc.stdout
    assert "would run after their dependencies (9)" in proc.stdout


def test_no_act_on_a_converged_graph_exits_0(workdir: Path) -> None:
    proc = jobyard("converge", "fleetnodes:AllGood", "--no-act", 'hosts=["a","b"]', cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert "nothing to do" in proc.stdout
    assert "✔ HostReady[host=a] already converged" in proc.stdout


def test_dynamic_nodes_and_json_values(workdir: Path) -> None:
    proc = jobyard(
        "converge",
        "fleetnodes:Fleet",
        "--json",
        "--retry-delay",
        "0",
        "--tries",
        "2",
        'hosts=["a","b","c"]',
        'down=["b"]',
        cwd=workdir,
    )
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert data["root"] == "Fleet" and data["success"] is False
    assert [(n["name"], n["status"], n["attempts"]) for n in data["nodes"]] == [
        ("HostReady[host=a]", True, 1),
        ("HostReady[host=b]", False, 2),
        ("HostReady[host=c]", True, 1),
        ("Fleet", None, 0),
    ]
    assert data["nodes"][1]["error"] == "NotConverged: HostReady[host=b]: check() returned False"


def test_json_numbers_reach_the_jobs() -> None:
    proc = jobyard(
        "converge", MOVIE, "--json", "--retry-delay", "0", "pizza_success_try=4", "movie=MST3K"
    )
    nodes = {n["name"]: n for n in json.loads(proc.stdout)["nodes"]}
    assert nodes["Pizza"]["status"] is False and nodes["Pizza"]["attempts"] == 3
    assert nodes["Food"]["status"] is None


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("no_colon_here", "expected MODULE:ROOTCLASS"),
        ("no_such_module_xyz:Root", "cannot import no_such_module_xyz: ModuleNotFoundError"),
        ("brokenmod:Root", "cannot import brokenmod: ModuleNotFoundError: No module named "),
        ("fleetnodes:Missing", "cannot find 'Missing' in fleetnodes: no attribute 'Missing'"),
        ("fleetnodes:NOT_A_CLASS", "fleetnodes:NOT_A_CLASS is a int, not a Job or Node class"),
        ("fleetnodes:Loop", "graph contains cycles: Loop -> Loop"),
        ("missing_file.py:Root", "cannot import missing_file.py: no such file"),
    ],
)
def test_load_errors_exit_2_with_one_line(workdir: Path, ref: str, message: str) -> None:
    proc = jobyard("converge", ref, cwd=workdir)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("jobyard: error: ")
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_bad_assignment_exits_2() -> None:
    proc = jobyard("converge", MOVIE, "movie")
    assert proc.returncode == 2
    assert "expected name=value" in proc.stderr


# --- graph ---------------------------------------------------------------------------


def test_graph_prints_dot_by_default() -> None:
    proc = jobyard("graph", MOVIE)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("digraph {\n  WatchMovie;\n  StartMovie;\n")
    assert "  StartMovie -> FriendsArrive;\n" in proc.stdout
    assert proc.stdout.count(" -> ") == 19


@pytest.mark.parametrize(
    ("suffix", "magic"), [(".dot", b"digraph {"), (".svg", b"<?xml"), (".png", b"\x89PNG")]
)
def test_graph_writes_files(tmp_path: Path, suffix: str, magic: bytes) -> None:
    target = tmp_path / f"movie{suffix}"
    proc = jobyard("graph", MOVIE, "-o", str(target))
    assert proc.returncode == 0, proc.stderr
    assert target.read_bytes().startswith(magic)
    assert f"wrote {target} (18 nodes)" in proc.stderr


def test_graph_check_colours_nodes(workdir: Path) -> None:
    proc = jobyard(
        "graph", "fleetnodes:Fleet", "--check", 'hosts=["a","b"]', 'down=["b"]', cwd=workdir
    )
    assert proc.returncode == 0, proc.stderr
    assert '"HostReady[host=a]" [style=filled, color=green];' in proc.stdout
    assert '"HostReady[host=b]" [style=filled, color=red];' in proc.stdout
    assert "  Fleet;\n" in proc.stdout


def test_graph_unknown_extension_exits_2(tmp_path: Path) -> None:
    proc = jobyard("graph", "no.such:Thing", "-o", str(tmp_path / "movie.jpg"))
    assert proc.returncode == 2
    assert "unknown graph file extension (.jpg)" in proc.stderr
    assert not (tmp_path / "movie.jpg").exists()


def test_graph_without_dot_exits_2_but_dot_text_still_works(tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    proc = jobyard("graph", MOVIE, "-o", str(tmp_path / "movie.svg"), path=str(empty))
    assert proc.returncode == 2
    assert "the Graphviz 'dot' program is not installed or not on PATH" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    proc = jobyard("graph", MOVIE, "-o", str(tmp_path / "movie.dot"), path=str(empty))
    assert proc.returncode == 0
    assert (tmp_path / "movie.dot").read_text().startswith("digraph {")


def test_graph_import_error_exits_2(workdir: Path) -> None:
    proc = jobyard("graph", "brokenmod:Root", cwd=workdir)
    assert proc.returncode == 2
    assert "cannot import brokenmod: ModuleNotFoundError" in proc.stderr
