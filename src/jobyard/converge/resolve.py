"""Finding a graph's root from ``MODULE:ROOT`` and building the graph of any kind of root."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from jobyard.converge.model import Graph
from jobyard.converge.native import is_native
from jobyard.converge.session import graph_and_driver
from jobyard.errors import ConvergeError, InvalidInput
from jobyard.i18n import _
from jobyard.params import parse_assignments

__all__ = ["RootNotFound", "build_graph", "load_root", "parse_assignments"]


class RootNotFound(ConvergeError):
    """``MODULE:ROOT`` cannot be imported or does not name a graph root."""


def build_graph(
    root: object,
    *,
    args: Mapping[str, Any] | None = None,
    default_tries: float = 3,
    default_retry_delay: float = 1,
) -> Graph:
    """The graph under ``root`` — a DoJobber ``Job`` class or a native ``Node``.

    ``graph.nodes`` lists every node in DoJobber's execution order (dependencies first,
    the root last) with its ``deps`` (names), ``tries`` and ``retry_delay``; ``args``
    are what a native node's ``requires()`` sees. Raises on cycles and bad settings.
    """
    return graph_and_driver(root, args, default_tries, default_retry_delay)[0]


def _import_file(path: Path) -> ModuleType:
    name = path.stem
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise RootNotFound(_("cannot import {path}: not a Python file", path=path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _import(module: str) -> ModuleType:
    path = Path(module)
    looks_like_file = module.endswith(".py") or os.sep in module
    try:
        if looks_like_file:
            if not path.is_file():
                raise RootNotFound(_("cannot import {module}: no such file", module=module))
            return _import_file(path)
        if "" not in sys.path and os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        return importlib.import_module(module)
    except RootNotFound:
        raise
    except SystemExit as err:
        raise RootNotFound(
            _("cannot import {module}: it called exit({code})", module=module, code=err.code)
        ) from err
    except Exception as err:
        raise RootNotFound(
            _(
                "cannot import {module}: {name}: {err}",
                module=module,
                name=type(err).__name__,
                err=err,
            )
        ) from err


def load_root(ref: str) -> object:
    """Import ``MODULE:ROOT`` (``MODULE`` a dotted module name or a ``.py`` path)."""
    module_name, sep, attr = ref.rpartition(":")
    if not sep or not module_name or not attr:
        raise InvalidInput(
            _("expected MODULE:ROOTCLASS (e.g. mypkg.jobs:Deploy), got {ref!r}", ref=ref)
        )
    target: Any = _import(module_name)
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise RootNotFound(
                _(
                    "cannot find {attr!r} in {module_name}: no attribute {part!r}",
                    attr=attr,
                    module_name=module_name,
                    part=part,
                )
            ) from None
    if not (is_native(target) or isinstance(target, type)):
        raise RootNotFound(
            _(
                "{ref} is a {name}, not a Job or Node class (or a Node)",
                ref=ref,
                name=type(target).__name__,
            )
        )
    return target
