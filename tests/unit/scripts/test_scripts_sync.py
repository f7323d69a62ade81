"""Discovery of scripts, their header, and type settings (sync, set, enable/disable)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jobyard import InvalidInput, UnknownJobType, Yard
from jobyard.errors import TypeDisabled
from jobyard.scripts import parse_header, set_enabled, set_type, sync_scripts


def script(folder: Path, name: str, body: str = "echo hi\n", mode: int = 0o755) -> Path:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(mode)
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "scripts"
    path.mkdir()
    return path


def test_header_lines_are_read() -> None:
    values, warnings = parse_header(
        "#!/bin/bash\n"
        "# jobyard: schedule = */5 * * * *\n"
        "# jobyard: on = backup.failed, disk.full\n"
        "// jobyard: worker = vip-worker\n"
        "#jobyard: mutex = no\n"
        "# jobyard: timeout = 30\n"
        "# jobyard: description = Nightly = backup\n"
        "# not a header: jobyard schedule = 1\n"
    )
    assert values == {
        "schedule": "*/5 * * * *",
        "on": ["backup.failed", "disk.full"],
        "worker": "vip-worker",
        "mutex": False,
        "timeout": 30.0,
        "description": "Nightly = backup",
    }
    assert warnings == []


def test_bad_header_lines_are_warnings_not_errors() -> None:
    values, warnings = parse_header(
        "# jobyard: schedule = 61 * * * *\n# jobyard: colour = red\n# jobyard: oops\n"
        "# jobyard: timeout = soon\n# jobyard: group = ops\n"
    )
    assert values == {"group": "ops"}
    assert "line 1: schedule: invalid cron expression" in warnings[0]
    assert "minute field '61'" in warnings[0]
    assert "line 2: unknown key 'colour'" in warnings[1]
    assert "line 3: expected 'jobyard: key = value'" in warnings[2]
    assert "line 4: timeout must be seconds" in warnings[3]


def test_sync_creates_disabled_types_and_skips_what_is_not_a_script(
    yard: Yard, folder: Path
) -> None:
    script(folder, "backup.sh", "# jobyard: on = foo, bar\necho x\n")
    script(folder, "report.py")
    script(folder, "notes.txt", mode=0o644)
    script(folder, ".hidden.sh")
    (folder / "lib").mkdir()
    script(folder / "lib", "helper.sh")
    report = sync_scripts(yard, folder)
    assert report.created == ["backup", "report"]
    assert report.skipped == [{"file": "notes.txt", "reason": "not executable"}]
    types = yard.stored_types(refresh=True)
    assert set(types) == {"backup", "report"}
    backup = types["backup"]
    assert backup.kind == "script" and backup.enabled is False
    assert backup.meta["on"] == ["foo", "bar"] and backup.meta["mutex"] is True
    assert backup.meta["path"] == str(folder / "backup.sh") and backup.meta["deleted"] is False
    assert backup.meta["last_ran"] is None and backup.meta["last_status"] is None
    with pytest.raises(TypeDisabled, match="jobyard type enable backup"):
        yard.enqueue("backup", {})
    assert "created (disabled): backup, report" in "\n".join(report.lines())


def test_sync_marks_deleted_restores_and_updates(yard: Yard, folder: Path) -> None:
    backup = script(folder, "backup.sh")
    script(folder, "other.sh")
    sync_scripts(yard, folder)
    set_enabled(yard, "backup", True)
    backup.unlink()
    report = sync_scripts(yard, folder)
    assert report.deleted == ["backup"] and report.unchanged == ["other"]
    gone = yard.stored_types(refresh=True)["backup"]
    assert gone.meta["deleted"] is True and gone.enabled is True
    assert sync_scripts(yard, folder).deleted == []  # already deleted: reported once
    script(folder, "backup.sh", "echo back\n")
    report = sync_scripts(yard, folder)
    assert report.restored == ["backup"] and report.created == []
    assert yard.stored_types(refresh=True)["backup"].meta["deleted"] is False
    script(folder, "other.sh", "echo changed\n")
    assert sync_scripts(yard, folder).updated == ["other"]
    assert sync_scripts(yard, folder).updated == []


def test_a_file_losing_its_x_bit_is_deleted(yard: Yard, folder: Path) -> None:
    path = script(folder, "job.sh")
    sync_scripts(yard, folder)
    path.chmod(0o644)
    report = sync_scripts(yard, folder)
    assert report.deleted == ["job"]
    assert report.skipped == [{"file": "job.sh", "reason": "not executable"}]


def test_type_set_overrides_the_header_and_reset_restores_it(yard: Yard, folder: Path) -> None:
    script(folder, "job.sh", "# jobyard: schedule = @hourly\n# jobyard: worker = a\n")
    sync_scripts(yard, folder)
    meta = set_type(yard, "job", {"worker": "b", "on": "x, y", "timeout": 5, "mutex": False})
    assert meta["worker"] == "b" and meta["on"] == ["x", "y"] and meta["timeout"] == 5.0
    assert meta["schedule"] == "@hourly" and meta["mutex"] is False
    script(folder, "job.sh", "# jobyard: schedule = @daily\n# jobyard: worker = c\n")
    sync_scripts(yard, folder)
    meta = yard.stored_types(refresh=True)["job"].meta
    assert meta["schedule"] == "@daily" and meta["worker"] == "b"  # the override wins
    meta = set_type(yard, "job", {}, reset=True)
    assert meta["worker"] == "c" and meta["on"] == [] and meta["mutex"] is True
    assert set_type(yard, "job", {"schedule": ""})["schedule"] is None


def test_type_set_rejects_bad_values_naming_the_field(yard: Yard, folder: Path) -> None:
    script(folder, "job.sh")
    sync_scripts(yard, folder)
    with pytest.raises(InvalidInput, match=r"schedule: .*the hour field '25'"):
        set_type(yard, "job", {"schedule": "0 25 * * *"})
    with pytest.raises(InvalidInput, match="timeout must be seconds >= 0"):
        set_type(yard, "job", {"timeout": -1})
    with pytest.raises(InvalidInput, match="worker must be a worker name"):
        set_type(yard, "job", {"worker": "two words"})
    with pytest.raises(InvalidInput, match="timezone: unknown time zone"):
        set_type(yard, "job", {"timezone": "Mars/Olympus"})
    with pytest.raises(UnknownJobType):
        set_type(yard, "nosuch", {"worker": "a"})
    assert yard.stored_types(refresh=True)["job"].meta["overrides"] == {}


def test_python_types_enable_and_disable_but_are_not_set(yard: Yard, folder: Path) -> None:
    @yard.job
    def resize(job, path):  # type: ignore[no-untyped-def]
        return path

    assert set_enabled(yard, "resize", False).enabled is False
    with pytest.raises(TypeDisabled):
        yard.enqueue("resize", {"path": "a"})
    set_enabled(yard, "resize", True)
    assert yard.enqueue("resize", {"path": "a"}).id > 0
    with pytest.raises(InvalidInput, match="is a python type"):
        set_type(yard, "resize", {"worker": "a"})
    script(folder, "resize.sh")
    report = sync_scripts(yard, folder)
    assert report.created == []
    assert report.skipped[0]["reason"] == "a python type named 'resize' exists"
    assert yard.stored_types(refresh=True)["resize"].kind == "python"


def test_names_clashing_and_missing_folder(yard: Yard, folder: Path, tmp_path: Path) -> None:
    script(folder, "job.py")
    script(folder, "job.sh")
    script(folder, "two words.sh")
    report = sync_scripts(yard, folder)
    assert report.created == ["job"]
    reasons = {s["file"]: s["reason"] for s in report.skipped}
    assert reasons["job.sh"] == "type name 'job' is taken by job.py"
    assert "not a usable type name" in reasons["two words.sh"]
    with pytest.raises(InvalidInput, match="does not exist"):
        sync_scripts(yard, tmp_path / "nope")


def test_default_folder_is_relative_to_the_config_file(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "jobs").mkdir(parents=True)
    script(project / "jobs", "hello.sh")
    (project / "jobyard.toml").write_text(
        f'db = "sqlite:///{tmp_path / "x.db"}"\nscripts_dir = "jobs"\n'
    )
    from jobyard.config import load_config

    here = os.getcwd()
    try:
        os.chdir(tmp_path)
        y = Yard(config=load_config(str(project / "jobyard.toml")))
        assert sync_scripts(y).created == ["hello"]
        y.close()
    finally:
        os.chdir(here)


def test_sync_of_a_folder_leaves_other_folders_types_alone(yard: Yard, tmp_path: Path) -> None:
    main, other = tmp_path / "main", tmp_path / "other"
    main.mkdir()
    other.mkdir()
    script(main, "backup.sh")
    script(other, "report.sh")
    script(other, "gone.sh")
    assert sync_scripts(yard, main).created == ["backup"]
    assert sync_scripts(yard, other).created == ["gone", "report"]
    set_enabled(yard, "backup", True)
    report = sync_scripts(yard, other)
    assert report.deleted == [] and report.unchanged == ["gone", "report"]
    (other / "gone.sh").unlink()
    assert sync_scripts(yard, other).deleted == ["gone"]  # its own types still go
    types = yard.stored_types(refresh=True)
    assert types["backup"].meta["deleted"] is False and types["backup"].enabled
    assert types["report"].meta["deleted"] is False
    assert types["gone"].meta["deleted"] is True
    yard.enqueue("backup", {})  # still submittable: its file exists
    (main / "backup.sh").unlink()
    assert sync_scripts(yard, main).deleted == ["backup"]


def test_sync_in_a_checkout_ignores_its_tools_folder(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "tools").mkdir(parents=True)
    (checkout / "scripts").mkdir()
    script(checkout / "tools", "setup.sh")
    script(checkout / "scripts", "nightly.sh")
    (checkout / "jobyard.toml").write_text(f'db = "sqlite:///{tmp_path / "c.db"}"\n')
    from jobyard.config import load_config

    y = Yard(config=load_config(str(checkout / "jobyard.toml")))
    try:
        report = sync_scripts(y)
        assert report.created == ["nightly"] and report.skipped == []
        assert "setup" not in y.stored_types(refresh=True)
    finally:
        y.close()
