"""Configuration: ``jobyard.toml`` (or ``--config``/``JOBYARD_CONFIG``), env ``JOBYARD_DB``."""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from typing import Any

from jobyard import limits as lim
from jobyard import runas
from jobyard.errors import ConfigError, InvalidInput
from jobyard.i18n import _
from jobyard.semaphores import Semaphore, from_config

DEFAULT_DB = "sqlite:///jobyard.db"
KNOWN_KEYS = {
    "events",
    "retention",
    "db",
    "app",
    "scripts_dir",
    "web",
    "sites",
    "roles",
    "observers",
    "mail",
    "semaphores",
    "worker",
    "limits",
    "scheduler",
    "slack",
}


@dataclass
class Config:
    db: str = DEFAULT_DB
    app: list[str] = field(default_factory=list)
    scripts_dir: str = "scripts"
    web_bind: str = "127.0.0.1:8080"
    lease: float = 10.0
    heartbeat: float = 2.0
    quarantine_after: int = 3
    run_as: str | None = None  # [worker] run_as: scripts and local shells run as this user
    allow_root: bool = False  # [worker] allow_root: a root worker may run them as root
    max_data_bytes: int = lim.MAX_DATA_BYTES  # job data, event data, items, jobset values
    max_props_bytes: int = lim.MAX_PROPS_BYTES
    max_result_bytes: int = lim.MAX_RESULT_BYTES
    max_log_bytes: int = lim.MAX_LOG_BYTES  # one job.log() message (cut past it) or its data
    events_keep_days: float = 7.0  # [events] retention of both event logs (jobyard.feed.prune)
    events_keep_rows: int = 1_000_000
    retention: Retention = field(default_factory=lambda: Retention())
    semaphores: dict[str, Semaphore] = field(default_factory=dict)  # [semaphores.NAME]
    max_active: int | None = None  # [limits] max_active: running jobs at once, all workers
    raw: dict[str, Any] = field(default_factory=dict)
    path: str | None = None


def _number(section: dict[str, Any], key: str, default: float, path: str) -> float:
    value = section.get(key, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ConfigError(
            _(
                "{path}: {key} must be a positive number, got {value!r}",
                path=path,
                key=key,
                value=value,
            )
        )
    return float(value)


# [limits] keys: the sizes read here, and the script runner's (jobyard.scripts.output).
SIZE_LIMITS = ("max_data_bytes", "max_props_bytes", "max_result_bytes", "max_log_bytes")
LIMIT_KEYS = frozenset(
    {*SIZE_LIMITS, "script_log_lines", "script_log_bytes", "script_kill_grace", "max_active"}
)


def _limits(cfg: Config, section: Any, path: str) -> None:
    """The ``[limits]`` section: unknown keys are refused (a misspelt limit silently not
    applying is worse than an error), sizes are whole numbers of bytes >= 1."""
    if not isinstance(section, dict):
        raise ConfigError(_("{path}: [limits] must be a table", path=path))
    unknown = set(section) - LIMIT_KEYS
    if unknown:
        raise ConfigError(
            _(
                "{path}: unknown [limits] key(s) {unknown}; known: {LIMIT_KEYS}",
                path=path,
                unknown=", ".join(sorted(unknown)),
                LIMIT_KEYS=", ".join(sorted(LIMIT_KEYS)),
            )
        )
    for key in SIZE_LIMITS:
        value = section.get(key, getattr(cfg, key))
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(
                _("{path}: [limits] {key} must be a whole number of bytes >= 1", path=path, key=key)
            )
        setattr(cfg, key, value)
    active = section.get("max_active")
    if active is not None and (
        isinstance(active, bool) or not isinstance(active, int) or not 1 <= active <= lim.INT32_MAX
    ):
        raise ConfigError(
            _(
                "{path}: [limits] max_active must be a whole number >= 1, got {active!r}",
                path=path,
                active=active,
            )
        )
    cfg.max_active = active


def load_config(path: str | None = None, db: str | None = None) -> Config:
    """Read the config file (if any) and apply overrides: ``db`` argument > JOBYARD_DB > file."""
    path = path or os.environ.get("JOBYARD_CONFIG")
    explicit = path is not None
    path = path or "jobyard.toml"
    raw: dict[str, Any] = {}
    if os.path.exists(path):
        try:
            with open(path, "rb") as fh:
                raw = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(_("{path}: not valid TOML: {exc}", path=path, exc=exc)) from None
        except OSError as exc:
            raise ConfigError(
                _("cannot read config {path}: {strerror}", path=path, strerror=exc.strerror)
            ) from None
    elif explicit:
        raise ConfigError(_("config file {path} does not exist", path=path))
    unknown = set(raw) - KNOWN_KEYS
    if unknown:
        raise ConfigError(
            _(
                "{path}: unknown key(s) {unknown}; known keys: {KNOWN_KEYS}",
                path=path,
                unknown=", ".join(sorted(unknown)),
                KNOWN_KEYS=", ".join(sorted(KNOWN_KEYS)),
            )
        )
    cfg = Config(raw=raw, path=path if raw else None)
    cfg.db = db or os.environ.get("JOBYARD_DB") or raw.get("db") or DEFAULT_DB
    if not isinstance(cfg.db, str):
        raise ConfigError(_("{path}: db must be a URL string", path=path))
    app = raw.get("app", [])
    if isinstance(app, str):
        app = [app]
    if not isinstance(app, list) or not all(isinstance(a, str) for a in app):
        raise ConfigError(_("{path}: app must be a list of module names", path=path))
    extra = os.environ.get("JOBYARD_APP")
    cfg.app = [*app, *(a for a in (extra or "").split(",") if a)]
    cfg.scripts_dir = str(raw.get("scripts_dir", cfg.scripts_dir))
    web = raw.get("web", {})
    if isinstance(web, dict) and "bind" in web:
        cfg.web_bind = str(web["bind"])
    worker = raw.get("worker", {})
    if isinstance(worker, dict):
        cfg.lease = _number(worker, "lease", cfg.lease, path)
        cfg.heartbeat = _number(worker, "heartbeat", min(cfg.heartbeat, cfg.lease / 3), path)
        cfg.quarantine_after = int(_number(worker, "quarantine_after", cfg.quarantine_after, path))
        _worker_user(cfg, worker, path)
    _limits(cfg, raw.get("limits", {}), path)
    _events(cfg, raw.get("events", {}), path)
    cfg.semaphores = from_config(raw.get("semaphores"), path)
    cfg.retention = retention_settings(raw, path)  # refused at load, not in an hour
    return cfg


def _worker_user(cfg: Config, worker: dict[str, Any], path: str) -> None:
    """``[worker] run_as`` (checked against this machine's users) and ``allow_root``."""
    try:
        cfg.run_as = runas.check(worker.get("run_as"), "[worker] run_as")
    except InvalidInput as exc:
        raise ConfigError(_("{path}: {exc}", path=path, exc=exc)) from None
    allow = worker.get("allow_root", False)
    if not isinstance(allow, bool):
        raise ConfigError(
            _(
                "{path}: [worker] allow_root must be true or false, got {allow!r}",
                path=path,
                allow=allow,
            )
        )
    cfg.allow_root = allow


def _events(cfg: Config, section: Any, path: str) -> None:
    """``[events]``: how long the event logs keep their rows (by age and by count)."""
    if not isinstance(section, dict):
        raise ConfigError(_("{path}: [events] must be a table", path=path))
    unknown = set(section) - {"keep_days", "keep_rows"}
    if unknown:
        raise ConfigError(
            _(
                "{path}: unknown [events] key(s) {unknown}; known: keep_days, keep_rows",
                path=path,
                unknown=", ".join(sorted(unknown)),
            )
        )
    cfg.events_keep_days = _number(section, "keep_days", cfg.events_keep_days, path)
    rows = section.get("keep_rows", cfg.events_keep_rows)
    if isinstance(rows, bool) or not isinstance(rows, int) or not 1 <= rows <= lim.INT64_MAX:
        raise ConfigError(_("{path}: [events] keep_rows must be a whole number >= 1", path=path))
    cfg.events_keep_rows = rows


RETENTION_KEYS = ("jobs_days", "jobs_keep", "tombstones_days", "archive_hours")


@dataclass(frozen=True)
class Retention:
    jobs_days: float | None = 30.0  # None: keep finished jobs whatever their age
    jobs_keep: int | None = None  # None: no count limit
    tombstones_days: float = 7.0
    # Finished jobs older than this move to the archive table (still read everywhere, out
    # of the hot table: jobyard.retention); None: never.
    archive_hours: float | None = 1.0


def retention_settings(raw: dict[str, Any], path: str = "jobyard.toml") -> Retention:
    """``[retention]`` of the config: 0 for ``jobs_days`` / ``jobs_keep`` means no limit,
    for ``archive_hours`` no archive."""
    section = raw.get("retention", {})
    if not isinstance(section, dict):
        raise ConfigError(_("{path}: [retention] must be a table", path=path))
    unknown = set(section) - set(RETENTION_KEYS)
    if unknown:
        raise ConfigError(
            _(
                "{path}: unknown [retention] key(s) {unknown}; known: {RETENTION_KEYS}",
                path=path,
                unknown=", ".join(sorted(unknown)),
                RETENTION_KEYS=", ".join(RETENTION_KEYS),
            )
        )
    base = Retention()

    def number(key: str, default: float | None, whole: bool = False) -> Any:
        value = section.get(key, default)
        if value is None:
            return None
        ok = isinstance(value, int) if whole else isinstance(value, int | float)
        if isinstance(value, bool) or not ok or not 0 <= value < 1e12 or value != value:
            if key == "archive_hours":
                raise ConfigError(
                    _(
                        "{path}: [retention] archive_hours must be a number of hours >= 0 "
                        "(0: no archive)",
                        path=path,
                    )
                )
            kind = "a whole number" if whole else "a number of days"
            raise ConfigError(
                _(
                    "{path}: [retention] {key} must be {kind} >= 0 (0: keep all)",
                    path=path,
                    key=key,
                    kind=kind,
                )
            )
        return value or None

    days = number("jobs_days", base.jobs_days)
    keep = number("jobs_keep", base.jobs_keep, whole=True)
    tomb = number("tombstones_days", base.tombstones_days)
    archive = number("archive_hours", base.archive_hours)
    return Retention(days, keep, tomb if tomb is not None else base.tombstones_days, archive)
