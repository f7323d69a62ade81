"""The inventory: sites (named units of configuration) grouped by roles (poly.shell's).

Rules (docs/sites.md): every site is in the role named after itself; ``name`` is fixed;
adding an existing site merges its config (shallow, or with a ``merge`` function);
``get`` returns a copy; a role is not a site; ``update(roles, ...)`` applies variables to
every site of the roles (and to sites that join those roles later, under their own values).

Values are JSON data, because a site travels to the worker inside its job's data. The
connection keys are typed: ``host, user, identity, known_hosts, jump`` strings, ``port`` a
whole number, ``connect_timeout`` a number, ``env`` a table of strings, ``run_as`` the
user (``USER[:GROUP]``) a local site's shell runs as, ``concurrency``
(commands at once on the site, per process) and ``max_sessions`` (channels at once on
one SSH connection, default 10 as OpenSSH's MaxSessions) whole numbers.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from jobyard import runas
from jobyard.errors import ConfigError, InvalidInput
from jobyard.i18n import _

StrList = list[str]  # `list` is also a method name of Inventory
__all__ = ["Inventory", "Merge", "Site", "check_value", "roles_of"]

Merge = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,199}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
STRING_KEYS = ("host", "user", "identity", "known_hosts", "jump", "sudo_password_env")


def _check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(
            _(
                "invalid {what} {name!r}: use 1 to 200 letters, digits, '_', '.', '@' or '-'",
                what=what,
                name=name,
            )
        )
    return name


def roles_of(roles: str | Iterable[str] | None, what: str = "role") -> list[str]:
    """A role or a list of roles, checked; ``None`` is no role."""
    if roles is None:
        return []
    if isinstance(roles, str):
        roles = [r.strip() for r in roles.split(",") if r.strip()] if "," in roles else [roles]
    found = list(roles)
    return [_check_name(r, what) for r in dict.fromkeys(found)]


def _json(value: Any, where: str) -> None:
    if value is None or isinstance(value, str | bool | int | float):
        return
    if isinstance(value, list | tuple):
        for item in value:
            _json(item, where)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInput(
                    _("{where}: table keys must be strings, got {key!r}", where=where, key=key)
                )
            _json(item, where)
        return
    raise InvalidInput(
        _(
            "{where} must be JSON data (string, number, bool, list or table), got {name}: keep "
            "helpers in the action's module, not in the site",
            where=where,
            name=type(value).__name__,
        )
    )


def check_value(site: str, key: str, value: Any) -> None:
    """InvalidInput naming the site and variable when ``value`` cannot be that variable."""
    where = f"site {site!r} variable {key!r}"
    if key in STRING_KEYS and not isinstance(value, str):
        raise InvalidInput(
            _(
                "{where} must be a string, got {name} {value!r}",
                where=where,
                name=type(value).__name__,
                value=value,
            )
        )
    if key == "port" and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidInput(
            _("{where} must be a whole number (1-65535), got {value!r}", where=where, value=value)
        )
    if key == "port" and not 1 <= value <= 65535:
        raise InvalidInput(
            _("{where} must be between 1 and 65535, got {value}", where=where, value=value)
        )
    if key in ("concurrency", "max_sessions") and (
        isinstance(value, bool) or not isinstance(value, int) or value < 1
    ):
        raise InvalidInput(
            _("{where} must be a whole number >= 1, got {value!r}", where=where, value=value)
        )
    if key == "connect_timeout" and (
        isinstance(value, bool) or not isinstance(value, int | float) or value <= 0
    ):
        raise InvalidInput(
            _(
                "{where} must be a positive number of seconds, got {value!r}",
                where=where,
                value=value,
            )
        )
    if key == "run_as":  # a local site's shell user (jobyard.runas): known here, now
        runas.check(value, where)
    if key == "env":
        if not isinstance(value, dict):
            raise InvalidInput(_('{where} must be a table of NAME = "value" strings', where=where))
        for name, text in value.items():
            if not isinstance(name, str) or not _ENV_NAME.match(name):
                raise InvalidInput(
                    _(
                        "{where}: {name!r} is not a variable name (A-Z, 0-9, _)",
                        where=where,
                        name=name,
                    )
                )
            if not isinstance(text, str):
                raise InvalidInput(
                    _(
                        "{where}: {name} must be a string, got {text!r}",
                        where=where,
                        name=name,
                        text=text,
                    )
                )
    _json(value, where)


class Site:
    """A copy of one site: ``site.name``, ``site.roles``, ``site.VARIABLE`` or ``site[key]``."""

    def __init__(self, name: str, roles: Iterable[str], config: Mapping[str, Any]) -> None:
        self.__dict__["name"] = name
        self.__dict__["roles"] = tuple(roles)
        self.__dict__["config"] = copy.deepcopy(dict(config))

    def __getattr__(self, key: str) -> Any:
        config = self.__dict__["config"]
        if key in config:
            return config[key]
        if key.startswith("__"):
            raise AttributeError(key)
        known = ", ".join(sorted(config)) or "none"
        raise AttributeError(
            _(
                "site {name!r} has no variable {key!r}; it has: {known}",
                name=self.name,
                key=key,
                known=known,
            )
        )

    def __setattr__(self, key: str, value: Any) -> None:
        if key in ("name", "roles"):
            raise InvalidInput(
                _("the {key} of site {name!r} cannot be changed", key=key, name=self.name)
            )
        self.__dict__["config"][key] = value

    def __getitem__(self, key: str) -> Any:
        if key == "name":
            return self.name
        return self.__dict__["config"][key]

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key == "name" or key in self.config else default

    @property
    def local(self) -> bool:
        """No ``host``: its shell runs on the worker's machine."""
        return not self.config.get("host")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "roles": list(self.roles), **copy.deepcopy(self.config)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Site:
        rest = {k: v for k, v in data.items() if k not in ("name", "roles")}
        return cls(str(data["name"]), data.get("roles") or (), rest)

    def __repr__(self) -> str:
        return f"<Site {self.name} roles={list(self.roles)}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Site) and other.to_dict() == self.to_dict()

    __hash__ = None  # type: ignore[assignment]


def _shallow(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    return {**old, **new}


class Inventory:
    """Sites and roles of one Yard (from ``[sites.*]``/``[roles.*]`` and Python calls)."""

    def __init__(self) -> None:
        self._config: dict[str, dict[str, Any]] = {}
        self._roles: dict[str, list[str]] = {}  # role -> its sites, in the order they joined
        self._role_vars: dict[str, dict[str, Any]] = {}

    def add(
        self,
        names: str | Iterable[str],
        roles: str | Iterable[str] | None = None,
        config: Mapping[str, Any] | None = None,
        *,
        merge: Merge | None = None,
        **variables: Any,
    ) -> list[str]:
        """Add sites (or merge into existing ones); returns their names."""
        given = {**dict(config or {}), **variables}
        if "name" in given:
            raise InvalidInput(_("the name of a site is fixed: remove the 'name' variable"))
        if "roles" in given:
            roles = [*roles_of(roles), *roles_of(given.pop("roles"))]
        sites = roles_of(names, "site name")
        if not sites:
            raise InvalidInput(_("sites.add needs at least one site name"))
        role_list = roles_of(roles)
        for site in sites:
            for key, value in given.items():
                check_value(site, key, value)
        for site in sites:
            inherited: dict[str, Any] = {}
            for role in role_list:
                inherited.update(self._role_vars.get(role, {}))
            old = self._config.get(site)
            fresh = copy.deepcopy(given)
            if old is None:
                self._config[site] = {**copy.deepcopy(inherited), **fresh}
            else:
                self._config[site] = (merge or _shallow)(old, fresh)
            for role in [site, *role_list]:
                members = self._roles.setdefault(role, [])
                if site not in members:
                    members.append(site)
        return sites

    def update(
        self,
        roles: str | Iterable[str],
        config: Mapping[str, Any] | None = None,
        *,
        merge: Merge | None = None,
        **variables: Any,
    ) -> list[str]:
        """Apply variables to every site of the roles (which must exist); returns the sites."""
        given = {**dict(config or {}), **variables}
        if "name" in given or "roles" in given:
            raise InvalidInput(_("sites.update cannot change a site's name or roles"))
        names = self.list(self.require(roles_of(roles)))
        for site in names:
            for key, value in given.items():
                check_value(site, key, value)
        for role in roles_of(roles):
            self._role_vars.setdefault(role, {}).update(copy.deepcopy(given))
        for site in names:
            self._config[site] = (merge or _shallow)(self._config[site], copy.deepcopy(given))
        return names

    def get(self, name: str) -> Site | None:
        """A copy of the site (changing it changes nothing here), or None; a role is not a site."""
        if name not in self._config:
            return None
        roles = [r for r, members in self._roles.items() if name in members and r != name]
        return Site(name, roles, self._config[name])

    def list(
        self, roles: str | Iterable[str] | None = None, filter: str | Iterable[str] | None = None
    ) -> list[str]:
        """Site names of the union of ``roles`` (every site when None), intersected with the
        union of ``filter``'s roles when given. Unknown roles have no sites."""
        wanted = roles_of(roles)
        if roles is None:
            found = list(self._config)
        else:
            found = list(dict.fromkeys(s for r in wanted for s in self._roles.get(r, [])))
        if filter is not None:
            keep = {s for r in roles_of(filter) for s in self._roles.get(r, [])}
            found = [s for s in found if s in keep]
        return found

    def require(self, roles: StrList) -> StrList:
        """``roles`` if each one exists, else InvalidInput naming the unknown one."""
        for role in roles:
            if role not in self._roles:
                known = ", ".join(sorted(self._roles)) or "none"
                raise InvalidInput(
                    _(
                        "unknown role {role!r} (no site or role has that name); known roles: "
                        "{known}",
                        role=role,
                        known=known,
                    )
                )
        return roles

    def roles(self) -> dict[str, StrList]:
        """Every role (sites' own roles included) with its sites."""
        return {role: list(members) for role, members in sorted(self._roles.items())}

    def load(self, raw: Mapping[str, Any], path: str = "jobyard.toml") -> None:
        """``[sites.NAME]`` tables (``roles`` plus variables), then ``[roles.NAME]`` tables."""
        sites, roles = raw.get("sites", {}), raw.get("roles", {})
        for section, table in (("sites", sites), ("roles", roles)):
            if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
                raise ConfigError(
                    _("{path}: [{section}.NAME] entries must be tables", path=path, section=section)
                )
        try:
            for name, table in sites.items():
                self.add(name, table.get("roles"), {k: v for k, v in table.items() if k != "roles"})
            for role, table in roles.items():
                if role not in self._roles:
                    raise InvalidInput(
                        _('[roles.{role}] has no sites: give a site roles = ["{role}"]', role=role)
                    )
                self.update(role, table)
        except InvalidInput as exc:
            raise ConfigError(f"{path}: {exc}") from None
