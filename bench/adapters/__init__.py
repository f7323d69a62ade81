"""Registry of benchmarked systems: ``--systems`` key -> ``module:AdapterClass``.

Adapters are imported lazily so that a system whose package (or API) is missing is reported
and skipped instead of breaking the whole run.
"""

from __future__ import annotations

import importlib

from common import Adapter, BenchConfig, SkipSystem

REGISTRY: dict[str, str] = {
    "jobyard-sqlite": "adapters.jobyard_sqlite:JobyardSqliteAdapter",
    "jobyard-postgres": "adapters.jobyard_postgres:JobyardPostgresAdapter",
    "celery": "adapters.celery:CeleryAdapter",
    "rq": "adapters.rq:RQAdapter",
    "rq-fork": "adapters.rq:RQForkAdapter",
    "dramatiq": "adapters.dramatiq:DramatiqAdapter",
    "huey": "adapters.huey:HueyAdapter",
    "huey-thread": "adapters.huey:HueyThreadAdapter",
    "huey-sqlite": "adapters.huey:SqliteHueyAdapter",
    "procrastinate": "adapters.procrastinate:ProcrastinateAdapter",
}

# rq-fork forks a process per job: at ~10x slower than the rest it would take most of the run.
DEFAULT_SYSTEMS = [name for name in REGISTRY if name != "rq-fork"]


def load(name: str, cfg: BenchConfig) -> Adapter:
    """Instantiate the adapter for ``name``; ``SkipSystem`` if its module cannot be imported."""
    try:
        target = REGISTRY[name]
    except KeyError:
        raise SkipSystem(f"unknown system {name!r} (known: {', '.join(REGISTRY)})") from None
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SkipSystem(f"cannot import {module_name}: {exc}") from exc
    cls: type[Adapter] = getattr(module, class_name)
    return cls(cfg)
