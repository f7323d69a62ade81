"""Shared CLI plumbing: building the Yard from config and loading app modules."""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

import click

from jobyard.config import load_config
from jobyard.errors import ConfigError
from jobyard.i18n import _
from jobyard.limits import finite_json
from jobyard.types import JobType
from jobyard.yard import Yard


def load_app_module(yard: Yard, name: str) -> None:
    """Import a module and adopt the job types it defines (on any Yard of its own)."""
    if "" not in sys.path:
        sys.path.insert(0, "")
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise ConfigError(
            _("cannot import app module {name!r}: {exc}", name=name, exc=exc)
        ) from None
    for value in vars(module).values():
        found: list[JobType] = []
        if isinstance(value, Yard) and value is not yard:
            found = list(value.types.values())
            yard.registry.abstract.update(value.registry.abstract)
            _adopt_sites(yard, value)
        elif isinstance(value, JobType):
            found = [value]
        for jt in found:
            yard.registry.add(jt)  # adopted: its defer now enqueues through this Yard


def _adopt_sites(yard: Yard, other: Yard) -> None:
    """The sites and actions an app module's own Yard defines become this one's (the
    config's sites win: they are added first)."""
    if other._actions is not None:
        yard.actions.adopt(other.actions)
    if other._sites is not None:
        for name in other.sites.list():
            found = other.sites.get(name)
            if found is not None and yard.sites.get(name) is None:
                yard.sites.add(name, list(found.roles), found.config)


def get_yard(ctx: click.Context, load_apps: bool = True) -> Yard:
    obj = ctx.find_root().obj
    if obj.get("yard") is None:
        cfg = load_config(obj.get("config_path"), obj.get("db"))
        yard = Yard(config=cfg)
        if load_apps:
            for name in cfg.app:
                load_app_module(yard, name)
        obj["yard"] = yard
    yard_obj: Yard = obj["yard"]
    return yard_obj


def parse_params(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``name=value`` pairs; a value that reads as JSON (5, true, [1]) is taken as such.
    The same rule as ``jobyard converge``'s arguments."""
    from jobyard.converge.resolve import parse_assignments

    return parse_assignments(pairs)


def parse_json_option(text: str | None, what: str) -> Any:
    """A JSON option (``--data``): refused in one line when it is not JSON, holds
    NaN/Infinity, or is nested too deeply (jobyard.limits.finite_json)."""
    if text is None:
        return None
    return finite_json(text, what)


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))
