"""Run as user/group (AnyJob's "workers as a configured user instead of root").

A ``run_as`` setting is ``"user"``, ``"user:group"`` or a table ``{user, group}``; it applies
to the subprocesses jobyard starts: scripts and the local shell commands of actions. The
one that counts for a job (:func:`effective`) is the job's own (``props.run_as``, set by a
delayed work or an admin), else its local site's, else its type's, else ``[worker] run_as``.

:func:`decide` is the policy, in one place:

- the target user is the worker's own user: nothing to switch;
- a worker that is not root cannot become another user: the job fails saying so;
- a worker that is root refuses to run a subprocess as root (no ``run_as`` at all, or one
  naming uid 0) unless ``[worker] allow_root = true`` (or env ``JOBYARD_ALLOW_ROOT=1``);
- a user or group unknown on this machine fails the job (it was checked when it was set,
  so it vanished since).

These failures are :class:`RunAsError`, a ``Fatal``: retrying would meet the same refusal.
Supplementary groups are the target user's own (``initgroups``: its memberships in
``/etc/group``), never the worker's; the environment is rebuilt (:func:`environment`).
"""

from __future__ import annotations

import grp
import os
import pwd
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jobyard.errors import Fatal, InvalidInput
from jobyard.i18n import N_, _

__all__ = [
    "Identity",
    "Policy",
    "RunAs",
    "RunAsError",
    "allow_root",
    "check",
    "decide",
    "effective",
    "environment",
    "parse",
]

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\$?$")  # POSIX-ish user/group names
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PASSED_ON = ("LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ", "TERM")
UMASK = 0o022  # what a login gives; the worker's own umask may be looser or stricter
_TRUE = {"1", "true", "yes", "on"}


class RunAsError(Fatal):
    """A job cannot run as the user it should (refused, or the user is gone)."""

    plain = True


@dataclass(frozen=True)
class RunAs:
    """A parsed setting: a user and, optionally, a group (default: the user's own)."""

    user: str
    group: str | None = None

    def __str__(self) -> str:
        return self.user if self.group is None else f"{self.user}:{self.group}"


def _name(value: Any, what: str, setting: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value.strip()):
        raise InvalidInput(
            _(
                "{setting}: {what} must be a user or group name (letters, digits, '_', '.', "
                "'-'), got {value!r}; write USER or USER:GROUP",
                setting=setting,
                what=_(what),
                value=value,
            )
        )
    return value.strip()


def parse(value: Any, setting: str = "run_as") -> RunAs | None:
    """The setting's syntax only (``None`` or ``""``: not set); InvalidInput names it."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, RunAs):
        return value
    if isinstance(value, Mapping):
        unknown = set(value) - {"user", "group"}
        if unknown or "user" not in value:
            raise InvalidInput(
                _('{setting}: a table takes user (and group): {{user = "deploy"}}', setting=setting)
            )
        group = value.get("group")
        return RunAs(
            _name(value["user"], N_("user"), setting),
            None if group in (None, "") else _name(group, N_("group"), setting),
        )
    if not isinstance(value, str):
        raise InvalidInput(
            _("{setting} must be USER or USER:GROUP, got {value!r}", setting=setting, value=value)
        )
    user, sep, group = value.strip().partition(":")
    if sep and not group:
        raise InvalidInput(
            _(
                "{setting}: {value!r} names no group after ':'; write USER:GROUP",
                setting=setting,
                value=value,
            )
        )
    return RunAs(
        _name(user, N_("user"), setting), _name(group, N_("group"), setting) if sep else None
    )


def _user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwuid(int(name)) if name.isdigit() else pwd.getpwnam(name)
    except (KeyError, OverflowError):
        raise LookupError(_("no user {name!r} on this machine", name=name)) from None


def _group(name: str) -> grp.struct_group:
    try:
        return grp.getgrgid(int(name)) if name.isdigit() else grp.getgrnam(name)
    except (KeyError, OverflowError):
        raise LookupError(_("no group {name!r} on this machine", name=name)) from None


def check(value: Any, setting: str = "run_as") -> str | None:
    """Parse the setting and make sure its user and group exist here; returns its text
    form (what is stored), or None. InvalidInput (a config error) otherwise."""
    spec = parse(value, setting)
    if spec is None:
        return None
    try:
        _user(spec.user)
        if spec.group is not None:
            _group(spec.group)
    except LookupError as exc:
        raise InvalidInput(
            _("{setting}: {exc} (create it, or fix the name)", setting=setting, exc=exc)
        ) from None
    return str(spec)


@dataclass(frozen=True)
class Identity:
    """Who a subprocess runs as; ``switch`` False: the worker's own user (no change)."""

    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]
    home: str
    shell: str
    switch: bool

    @property
    def cwd(self) -> str:
        """A directory it may stand in: its home if that exists, else ``/``."""
        return self.home if self.home and os.path.isdir(self.home) else "/"

    def describe(self) -> str:
        return f"{self.name} (uid {self.uid}, gid {self.gid})"


def allow_root(config_value: bool) -> bool:
    """``[worker] allow_root``, or env ``JOBYARD_ALLOW_ROOT`` set to a true value."""
    return config_value or os.environ.get("JOBYARD_ALLOW_ROOT", "").lower() in _TRUE


def root_warning(config_allow: bool, worker_run_as: Any) -> str | None:
    """What a worker started as root says at start when it will refuse to run scripts and
    local shell commands as root (no ``[worker] run_as``, root not allowed), else None:
    better told once at start than found in each failed job."""
    if os.geteuid() != 0 or worker_run_as or allow_root(config_allow):
        return None
    return _(
        "warning: this worker runs as root, so scripts and local shell commands without "
        "run_as will fail; set [worker] run_as = USER (or run_as on the type or site), or "
        "[worker] allow_root = true"
    )


def _resolve(spec: RunAs) -> Identity:
    try:
        entry = _user(spec.user)
        gid = entry.pw_gid if spec.group is None else _group(spec.group).gr_gid
    except LookupError as exc:
        raise RunAsError(_("cannot run as {spec}: {exc}", spec=spec, exc=exc)) from None
    try:
        groups = tuple(os.getgrouplist(entry.pw_name, gid))
    except OSError:  # pragma: no cover - NSS trouble: the primary group alone
        groups = (gid,)
    if gid not in groups:
        groups = (gid, *groups)
    euid, egid = os.geteuid(), os.getegid()
    switch = entry.pw_uid != euid or (spec.group is not None and gid != egid)
    return Identity(entry.pw_name, entry.pw_uid, gid, groups, entry.pw_dir, entry.pw_shell, switch)


def decide(value: Any, allow: bool, what: str = "job") -> Identity | None:
    """Who a subprocess of ``what`` runs as under ``value`` (None: as the worker itself);
    RunAsError when the policy of the module docstring refuses it."""
    try:
        spec = parse(value)
    except InvalidInput as exc:  # stored settings edited into nonsense: no retry helps
        raise RunAsError(_("cannot run {what}: {exc}", what=what, exc=exc)) from None
    root = os.geteuid() == 0
    if spec is None:
        if root and not allow:
            raise RunAsError(
                _(
                    "refusing to run {what} as root: set run_as (on the type, the site, or "
                    "[worker] run_as = USER), or allow it with [worker] allow_root = true",
                    what=what,
                )
            )
        return None
    ident = _resolve(spec)
    if ident.switch and not root:
        me = pwd.getpwuid(os.geteuid()).pw_name
        raise RunAsError(
            _(
                "cannot switch to user {spec}: the worker is not root (it runs as {me})",
                spec=spec,
                me=me,
            )
        )
    if ident.uid == 0 and root and not allow:
        raise RunAsError(
            _(
                "refusing to run {what} as root ({spec}): allow it with [worker] allow_root = true",
                what=what,
                spec=spec,
            )
        )
    return ident


@dataclass(frozen=True)
class Policy:
    """A run_as setting with the worker's allow_root, decided when a command starts (so
    a user removed meanwhile, or a root refusal, fails that command, not the setup)."""

    value: Any
    allow: bool
    what: str = "job"

    def identity(self) -> Identity | None:
        return decide(self.value, self.allow, self.what)


def effective(
    props: Any, site: Mapping[str, Any] | None, type_value: Any, worker_value: Any
) -> Any:
    """The run_as that counts: the job's, its local site's, its type's, the worker's."""
    own = props.get("run_as") if isinstance(props, Mapping) else None
    for value in (own, (site or {}).get("run_as"), type_value, worker_value):
        if value not in (None, ""):
            return value
    return None


def environment(ident: Identity, extra: Mapping[str, str], path_first: str = "") -> dict[str, str]:
    """A clean environment for ``ident``: none of the worker's variables (its database
    URL, tokens, passwords) but a safe PATH, the user's HOME/USER/LOGNAME/SHELL, the
    locale, and ``extra`` (the JOBYARD_* variables of the script protocol)."""
    env = {name: os.environ[name] for name in PASSED_ON if name in os.environ}
    env.update(
        PATH=f"{path_first}{os.pathsep}{SAFE_PATH}" if path_first else SAFE_PATH,
        HOME=ident.home or "/",
        USER=ident.name,
        LOGNAME=ident.name,
        SHELL=ident.shell or "/bin/sh",
    )
    env.update(extra)
    return env


def popen_options(ident: Identity | None) -> dict[str, Any]:
    """Keyword arguments of ``subprocess.Popen`` that start a process as ``ident``."""
    if ident is None or not ident.switch:
        return {}
    return {
        "user": ident.uid,
        "group": ident.gid,
        "extra_groups": list(ident.groups),
        "umask": UMASK,
    }
