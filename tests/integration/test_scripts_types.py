"""Enabled, disabled and deleted types as a running worker sees them."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from jobyard import InvalidInput, Yard
from jobyard.scripts import load_script_types, set_enabled, sync_scripts
from jobyard.scripts.loader import ScriptType


def test_a_disabled_python_type_is_not_claimed_until_enabled(yard: Yard) -> None:
    @yard.job
    def note(job):  # type: ignore[no-untyped-def]
        return "ran"

    h = yard.enqueue("note")
    set_enabled(yard, "note", False)
    w = yard.worker(heartbeat=0.2).start()
    try:
        time.sleep(0.8)
        assert h.refresh().status == "ready"
        set_enabled(yard, "note", True)
        assert h.wait(timeout=10).result == "ran"
    finally:
        w.stop()


def test_deleted_scripts_are_refused_and_not_loaded(yard: Yard, tmp_path: Path) -> None:
    folder = tmp_path / "scripts"
    folder.mkdir()
    path = folder / "gone.sh"
    path.write_text("#!/bin/sh\necho hi\n")
    path.chmod(0o755)
    sync_scripts(yard, folder)
    set_enabled(yard, "gone", True)
    assert load_script_types(yard) == ["gone"]
    jt = yard.types["gone"]
    assert isinstance(jt, ScriptType) and jt.active and jt.is_async and jt.timeout is None
    assert jt.queue == "default" and jt.own_timeout
    path.unlink()
    sync_scripts(yard, folder)
    assert load_script_types(yard) == []
    assert yard.types["gone"].active is False  # kept, so claimed jobs still find it
    yard.stored_types(refresh=True)
    with pytest.raises(InvalidInput, match="was deleted: its script is gone"):
        yard.enqueue("gone")


def test_settings_changes_rebuild_the_type(yard: Yard, tmp_path: Path) -> None:
    folder = tmp_path / "scripts"
    folder.mkdir()
    path = folder / "job.sh"
    path.write_text("#!/bin/sh\n# jobyard: worker = a\n")
    path.chmod(0o755)
    sync_scripts(yard, folder)
    set_enabled(yard, "job", True)
    load_script_types(yard)
    first = yard.types["job"]
    assert first.queue == "worker:a"
    load_script_types(yard)
    assert yard.types["job"] is first  # nothing changed: same object
    path.write_text("#!/bin/sh\n# jobyard: worker = b\n# jobyard: on = x\n")
    sync_scripts(yard, folder)
    load_script_types(yard)
    assert yard.types["job"].queue == "worker:b" and yard.types["job"].on == ["x"]
    h = yard.enqueue("job")
    assert h.refresh().queue == "worker:b"
