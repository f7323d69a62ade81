"""Pure helpers of distributed converge: naming roots, tries → retries, rebuilt errors."""

from __future__ import annotations

import os

import pytest

from dojobber import Job
from jobyard.converge import distributed as dist
from jobyard.errors import InvalidInput


class Importable(Job):
    pass


@pytest.mark.parametrize(("tries", "retries"), [(1, 0), (1.1, 1), (2, 1), (3, 2), (4.5, 4)])
def test_tries_become_retries_like_dojobbers_countdown(tries: float, retries: int) -> None:
    assert dist._tries_to_retries(tries) == retries


def test_root_refs() -> None:
    assert dist.root_ref(Importable) == f"{Importable.__module__}:Importable"

    class Local(Job):
        pass

    with pytest.raises(InvalidInput, match="cannot be imported by workers"):
        dist.root_ref(Local)
    with pytest.raises(InvalidInput, match="give the root as 'module:Class'"):
        dist.root_ref(object())


def test_file_refs_become_absolute_dotted_ones_stay() -> None:
    assert dist._absolute_ref("graphs/site.py:Site") == f"{os.path.abspath('graphs/site.py')}:Site"
    assert dist._absolute_ref("pkg.graphs:Site") == "pkg.graphs:Site"


def test_recorded_failures_become_exceptions_again() -> None:
    err = dist.rebuild_error("PermissionError: vault sealed")
    assert type(err) is PermissionError and str(err) == "vault sealed"
    other = dist.rebuild_error("VaultError: sealed")
    assert isinstance(other, dist.NodeFailed) and str(other) == "VaultError: sealed"
    assert str(dist.rebuild_error("timed out after 5 s")) == "timed out after 5 s"
    assert str(dist.rebuild_error(None)) == "failed"
