from __future__ import annotations

from pathlib import Path

import pytest

from jobyard import ConfigError
from jobyard.config import load_config


def test_defaults_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JOBYARD_DB", raising=False)
    monkeypatch.delenv("JOBYARD_CONFIG", raising=False)
    assert load_config().db == "sqlite:///jobyard.db"
    monkeypatch.setenv("JOBYARD_DB", "sqlite:///other.db")
    assert load_config().db == "sqlite:///other.db"
    assert load_config(db="sqlite:///arg.db").db == "sqlite:///arg.db"


def test_file_values_and_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOBYARD_DB", raising=False)
    cfg = tmp_path / "jobyard.toml"
    cfg.write_text('db = "sqlite:///x.db"\napp = ["a", "b"]\n[worker]\nlease = 4\n')
    loaded = load_config(str(cfg))
    assert (loaded.db, loaded.app, loaded.lease) == ("sqlite:///x.db", ["a", "b"], 4.0)
    cfg.write_text("db = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(str(cfg))
    cfg.write_text("colour = 1\n")
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(str(cfg))
    cfg.write_text("[worker]\nlease = -1\n")
    with pytest.raises(ConfigError, match="lease must be a positive number"):
        load_config(str(cfg))
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(str(tmp_path / "missing.toml"))
