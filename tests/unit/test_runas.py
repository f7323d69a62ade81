"""jobyard.runas: the setting's forms, which one counts, and the checks against the
machine's users (real /etc/passwd entries: root and nobody exist everywhere)."""

from __future__ import annotations

import os

import pytest

from jobyard import runas
from jobyard.errors import InvalidInput
from jobyard.scripts.meta import parse_header


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("deploy", "deploy"),
        (" deploy:www ", "deploy:www"),
        ({"user": "deploy", "group": "www"}, "deploy:www"),
        ({"user": "deploy"}, "deploy"),
        ("1000:1000", "1000:1000"),
    ],
)
def test_forms(value: object, shown: str) -> None:
    spec = runas.parse(value)
    assert spec is not None and str(spec) == shown


@pytest.mark.parametrize(
    "value", ["deploy:", ":www", "a b", "x;rm", 5, ["deploy"], {"group": "www"}, {"usr": "x"}]
)
def test_bad_forms_are_refused_naming_the_setting(value: object) -> None:
    with pytest.raises(InvalidInput, match=r"^run_as"):
        runas.parse(value)


def test_empty_is_unset_and_check_knows_the_users() -> None:
    assert runas.parse(None) is None and runas.parse("  ") is None
    assert runas.check("nobody") == "nobody" and runas.check({"user": "root"}) == "root"
    with pytest.raises(InvalidInput, match="no user 'jyt_nobody_here' on this machine"):
        runas.check("jyt_nobody_here", "--run-as")
    with pytest.raises(InvalidInput, match="no group 'jyt_no_group'"):
        runas.check("nobody:jyt_no_group")


def test_the_job_then_site_then_type_then_worker() -> None:
    eff = runas.effective
    assert eff({"run_as": "a"}, {"run_as": "b"}, "c", "d") == "a"
    assert eff({}, {"run_as": "b"}, "c", "d") == "b"
    assert eff(None, None, "c", "d") == "c"
    assert eff({"run_as": ""}, {}, None, "d") == "d"
    assert eff({}, {}, None, None) is None


def test_a_header_keeps_an_unknown_user_so_runs_fail_rather_than_run_as_root() -> None:
    values, warnings = parse_header("# jobyard: run_as = jyt_nobody_here\n")
    assert values == {"run_as": "jyt_nobody_here"}
    assert "no user 'jyt_nobody_here'" in warnings[0]
    values, warnings = parse_header("# jobyard: run_as = bad name\n")
    assert values["run_as"] == "!invalid" and warnings
    with pytest.raises(runas.RunAsError, match="cannot run job"):
        runas.decide(values["run_as"], True)


@pytest.mark.skipif(os.geteuid() != 0, reason="the root policy is a root worker's")
def test_root_worker_policy() -> None:
    with pytest.raises(runas.RunAsError, match="refusing to run job as root"):
        runas.decide(None, False)
    with pytest.raises(runas.RunAsError, match=r"refusing to run job as root \(root\)"):
        runas.decide("root", False)
    assert runas.decide(None, True) is None
    root = runas.decide("root", True)
    assert root is not None and not root.switch
    nobody = runas.decide("nobody", False)
    assert nobody is not None and nobody.switch and nobody.uid != 0 and 0 not in nobody.groups
    assert runas.popen_options(nobody)["user"] == nobody.uid
    env = runas.environment(nobody, {"JOBYARD_JOB_ID": "1"})
    assert env["USER"] == "nobody" and env["JOBYARD_JOB_ID"] == "1" and "JOBYARD_DB" not in env
