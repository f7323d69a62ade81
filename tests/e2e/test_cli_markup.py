"""User text that looks like rich markup is printed as it is by every human-output command."""

from __future__ import annotations

import importlib
from pathlib import Path

from jobyard import Yard
from tests.e2e.markup_app import MARKUP
from tests.helpers import cli_env, run_cli


def test_every_human_output_command_prints_markup_like_text_verbatim(tmp_path: Path) -> None:
    db = tmp_path / "markup.db"
    app = importlib.import_module("tests.e2e.markup_app")
    yard = Yard(f"sqlite:///{db}")
    yard.types.update(app.yard.types)
    ok = yard.enqueue("[bold]t[/]", {"note": MARKUP}, props={"who": MARKUP})
    bad = yard.enqueue("fails[/]")
    yard.emit("[ok] backup done", {"msg": MARKUP})
    yard.collection("c").insert({"msg": MARKUP}, status="[bold]new[/]")
    worker = yard.worker(name="[red]w[/]", queues=["[/]q", "default"], concurrency=1).start()
    assert ok.wait(timeout=30).status == "completed"
    assert bad.wait(timeout=30).status == "failed"
    env = cli_env(db, "tests.e2e.markup_app")
    commands: list[tuple[str, ...]] = [
        ("jobs",),
        ("job", "show", str(ok.id)),
        ("job", "show", str(bad.id)),
        ("job", "log", str(ok.id)),
        ("events",),
        ("collections",),
        ("collection", "c"),
        ("workers",),
        ("types",),
    ]
    try:
        for args in commands:
            out = run_cli(env, *args)
            assert out.returncode == 0, (args, out.stderr)
            assert "Traceback" not in out.stderr, args
            text = out.stdout
            if args[:2] == ("job", "log"):
                for level in ("info", "success", "warning", "danger"):
                    assert f"{level} {MARKUP}" in text
            elif args[0] in ("job", "events", "collection"):
                assert MARKUP in text, (args, text)
            elif args == ("events",):
                assert "[ok] backup done" in text
        assert "[bold]t[/]" in run_cli(env, "jobs").stdout
        assert "[/]q" in run_cli(env, "jobs").stdout
        assert "[red]w[/]" in run_cli(env, "workers").stdout
        assert "fails[/]" in run_cli(env, "types").stdout
        assert "[ok] backup done" in run_cli(env, "events").stdout
        failed = run_cli(env, "job", "show", str(bad.id)).stdout
        assert f"bad {MARKUP}" in failed
    finally:
        worker.stop()
        yard.close()
