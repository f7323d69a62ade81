"""An 18-node "deploy a site" graph: failures, blocked nodes, retries, RunonlyJobs, cleanups.

Post-order from Site (the order of tries inside a phase):
Disk, Mount, Network, Packages, Config, Secrets, Certs, Database, Migrations, Cache,
Warmup, App, Dns, LoadBalancer, Monitoring, Alerts, Backup, Site.

Expected tries, worked out by hand from DoJobber's rules (default TRIES 3):
phase 0: Disk(1 fail) Network(pass) Packages(1 fail) Secrets(1 fail) Cache(init fail)
         Dns(converges) Monitoring(converges) Alerts(1 fail)
phase 1: Disk(2 fail) Packages(2 pass) Secrets(2 fail, no tries left) Cache Alerts
phase 2: Disk(3 pass) Mount(pass) Config(pass) Database(1 fail) Cache(3rd, last) Alerts(3rd)
phase 3: Database(2)   phase 4: Database(3)
phase 5: Database(4, its last try, passes) Migrations(pass) Backup(1 fail, TRIES 1)
"""

from __future__ import annotations

from typing import Any

import pytest

from dojobber import DoJobber, DummyJob, Job, RunonlyJob

CLEANUPS: list[str] = []


def bump(job: Job, key: str) -> int:
    job.global_storage[key] = job.global_storage.get(key, 0) + 1
    return int(job.global_storage[key])


class Cleaned:
    def Cleanup(self) -> None:
        CLEANUPS.append(type(self).__name__)


class Network(Job):
    def Check(self, *a: Any, **k: Any) -> str:
        return "up"


class Dns(Job):
    DEPS = (Network,)

    def Check(self, *a: Any, **k: Any) -> None:
        if not self.storage.get("done"):
            raise LookupError("no record")

    def Run(self, *a: Any, **k: Any) -> None:
        self.storage["done"] = True


class Disk(Cleaned, Job):
    TRIES = 4
    RETRY_DELAY = 0

    def Check(self, *a: Any, **k: Any) -> None:
        if self.global_storage.get("disk", 0) < 3:
            raise OSError("disk not formatted")

    def Run(self, *a: Any, **k: Any) -> None:
        bump(self, "disk")


class Mount(Cleaned, Job):
    DEPS = (Disk,)

    def Check(self, *a: Any, **k: Any) -> None:
        pass


class Packages(RunonlyJob):
    DEPS = (Network,)

    def Run(self, *a: Any, **k: Any) -> str:
        if bump(self, "apt") < 2:
            raise RuntimeError("mirror timeout")
        return "installed"


class Config(Job):
    DEPS = (Mount, Packages)

    def Check(self, *a: Any, **k: Any) -> None:
        pass


class Secrets(Job):
    TRIES = 2

    def Check(self, *a: Any, **k: Any) -> None:
        raise PermissionError("vault sealed")

    def Run(self, *a: Any, **k: Any) -> None:
        raise RuntimeError("unseal failed")


class Certs(Job):
    DEPS = (Secrets,)

    def Check(self, *a: Any, **k: Any) -> None:
        pass


class Database(Job):
    DEPS = (Mount,)
    TRIES = 4

    def Check(self, *a: Any, **k: Any) -> None:
        if self.global_storage.get("db", 0) < 4:
            raise ConnectionError("database starting")

    def Run(self, *a: Any, **k: Any) -> None:
        bump(self, "db")


class Migrations(RunonlyJob):
    DEPS = (Database,)

    def Run(self, *a: Any, **k: Any) -> str:
        return "migrated 3"


class Cache(Cleaned, Job):
    def __init__(self) -> None:
        raise RuntimeError("cache host unreachable")


class Warmup(Job):
    DEPS = (Cache,)

    def Check(self, *a: Any, **k: Any) -> None:
        pass


class App(Job):
    DEPS = (Config, Certs, Migrations, Warmup)

    def Check(self, *a: Any, **k: Any) -> None:
        pass


class Monitoring(Cleaned, Job):
    DEPS = (Network,)

    def Check(self, *a: Any, **k: Any) -> None:
        if not self.storage.get("installed"):
            raise LookupError("no agent")

    def Run(self, *a: Any, **k: Any) -> None:
        self.storage["installed"] = True


class Alerts(Cleaned, Job):
    DEPS = (Monitoring,)

    def Check(self, *a: Any, **k: Any) -> None:
        raise LookupError("no pager configured")

    def Run(self, *a: Any, **k: Any) -> None:
        pass


class LoadBalancer(Job):
    DEPS = (App, Dns)

    def Check(self, *a: Any, **k: Any) -> None:
        pass


class Backup(Job):
    DEPS = (Database,)
    TRIES = 1

    def Check(self, *a: Any, **k: Any) -> None:
        raise FileNotFoundError("backup target missing")

    def Run(self, *a: Any, **k: Any) -> None:
        raise FileNotFoundError("backup target missing")


class Site(DummyJob):
    DEPS = (LoadBalancer, Alerts, Backup)


EXPECTED_STATUS = {
    "Disk": True,
    "Mount": True,
    "Network": True,
    "Packages": True,
    "Config": True,
    "Secrets": False,
    "Certs": None,
    "Database": True,
    "Migrations": True,
    "Cache": False,
    "Warmup": None,
    "App": None,
    "Dns": True,
    "LoadBalancer": None,
    "Monitoring": True,
    "Alerts": False,
    "Backup": False,
    "Site": None,
}

EXPECTED_TRIES = [
    # phase 0
    "Disk", "Network", "Packages", "Secrets", "Cache", "Dns", "Monitoring", "Alerts",
    # phase 1
    "Disk", "Packages", "Secrets", "Cache", "Alerts",
    # phase 2
    "Disk", "Mount", "Config", "Database", "Cache", "Alerts",
    # phases 3, 4, 5
    "Database", "Database", "Database", "Migrations", "Backup",
]  # fmt: skip


@pytest.fixture
def dojob(capsys: pytest.CaptureFixture[str]) -> DoJobber:
    CLEANUPS.clear()
    job = DoJobber()
    job.configure(Site, verbose=True, default_retry_delay=0)
    job.checknrun()
    return job


def test_graph_has_18_nodes(dojob: DoJobber) -> None:
    assert dojob.graph is not None and len(dojob.graph) == 18
    assert list(dojob.nodestatus) == list(EXPECTED_STATUS)


def test_exact_nodestatus(dojob: DoJobber) -> None:
    assert dojob.nodestatus == EXPECTED_STATUS
    assert not dojob.success() and dojob.partial_success()


def test_order_of_tries_across_phases(dojob: DoJobber, capsys: pytest.CaptureFixture[str]) -> None:
    first_checks = [
        line.split(".check:")[0]
        for line in capsys.readouterr().err.splitlines()
        if ".check:" in line
    ]
    assert first_checks == EXPECTED_TRIES


def test_exceptions_and_results(dojob: DoJobber) -> None:
    errors = {name: str(err) for name, err in dojob.nodeexceptions.items()}
    assert errors["Secrets"] == "vault sealed"
    assert errors["Cache"] == "cache host unreachable"
    assert errors["Alerts"] == "no pager configured"
    assert errors["Backup"] == "backup target missing"
    # as in DoJobber, the last failure of a node that passed later is kept too
    assert errors["Disk"] == "disk not formatted"
    assert errors["Database"] == "database starting"
    assert dojob.noderesults["Migrations"] == "migrated 3"
    assert dojob.noderesults["Packages"] == "installed"
    assert dojob.noderesults["Network"] == "up"
    assert set(dojob.noderesults) == {n for n, ok in EXPECTED_STATUS.items() if ok}


def test_outcomes_colour_the_graph(dojob: DoJobber) -> None:
    assert dojob.nodeoutcomes == {
        "Disk": "converged",
        "Mount": "passed",
        "Network": "passed",
        "Packages": "converged",
        "Config": "passed",
        "Secrets": "failed",
        "Database": "converged",
        "Migrations": "converged",
        "Cache": "failed",
        "Dns": "converged",
        "Monitoring": "converged",
        "Alerts": "failed",
        "Backup": "failed",
    }
    dot = dojob.dot()
    assert "  Mount [style=filled, color=green];" in dot
    assert "  Disk [style=filled, color=darkgreen];" in dot
    assert "  Cache [style=filled, color=red];" in dot
    assert "  Site;\n" in dot and "  Site -> LoadBalancer;\n" in dot


def test_cleanups_ran_lifo_for_every_created_object(dojob: DoJobber) -> None:
    # created: Disk#1 Monitoring Alerts#1 | Disk#2 Alerts#2 | Disk#3 Mount Alerts#3
    # (Cache never got created)
    assert CLEANUPS == [
        "Alerts",
        "Mount",
        "Disk",
        "Alerts",
        "Disk",
        "Alerts",
        "Monitoring",
        "Disk",
    ]
