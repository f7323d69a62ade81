"""The inventory's rules (spec poly-shell.md "Sites and roles") and [sites.*]/[roles.*]."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobyard import Yard
from jobyard.config import load_config
from jobyard.errors import ConfigError, InvalidInput
from jobyard.sites.inventory import Inventory


def test_every_site_is_in_its_own_role_and_a_role_is_not_a_site() -> None:
    inv = Inventory()
    inv.add("test", "app-role", host="example.com", testpath="tmp/t1")
    inv.add("test2", "app-role", testpath="tmp/t2")
    assert inv.list("test") == ["test"]
    assert inv.list("app-role") == ["test", "test2"]
    assert inv.get("app-role") is None
    assert inv.get("nope") is None
    assert inv.get("test").roles == ("app-role",)  # type: ignore[union-attr]


def test_name_is_fixed() -> None:
    inv = Inventory()
    with pytest.raises(InvalidInput, match="name of a site is fixed"):
        inv.add("a", name="b")
    inv.add("a", x=1)
    site = inv.get("a")
    assert site is not None and site.name == "a"
    with pytest.raises(InvalidInput, match="cannot be changed"):
        site.name = "b"


def test_re_add_merges_shallow_and_a_custom_merge_can_append() -> None:
    inv = Inventory()
    inv.add("a", "web", tags=["x"], port=2222)
    inv.add("a", "db", user="deploy", tags=["y"])
    site = inv.get("a")
    assert site is not None
    assert site.config == {"tags": ["y"], "port": 2222, "user": "deploy"}
    assert inv.list("web") == inv.list("db") == ["a"]

    def append(old: dict, new: dict) -> dict:  # type: ignore[type-arg]
        out = dict(old)
        for key, value in new.items():
            out[key] = out.get(key, []) + value if isinstance(value, list) else value
        return out

    inv.add("a", tags=["z"], merge=append)
    assert inv.get("a").tags == ["y", "z"]  # type: ignore[union-attr]


def test_get_returns_a_copy() -> None:
    inv = Inventory()
    inv.add("a", tags=["x"], nested={"k": 1})
    copy = inv.get("a")
    assert copy is not None
    copy.tags.append("changed")
    copy.nested["k"] = 2
    copy.extra = "new"
    again = inv.get("a")
    assert again is not None and again.tags == ["x"] and again.nested == {"k": 1}
    assert "extra" not in again.config


def test_update_applies_to_every_site_of_the_role_and_later_joiners() -> None:
    inv = Inventory()
    inv.add("busy", ["app", "primary"], host="app1")
    inv.add("standby", "app", host="app2")
    inv.add("local")
    assert inv.update("app", admin="admin@example.com") == ["busy", "standby"]
    assert inv.get("busy").admin == "admin@example.com"  # type: ignore[union-attr]
    assert "admin" not in inv.get("local").config  # type: ignore[union-attr]
    inv.add("third", "app", admin="own@example.com")
    inv.add("fourth", "app")
    assert inv.get("third").admin == "own@example.com"  # type: ignore[union-attr]
    assert inv.get("fourth").admin == "admin@example.com"  # type: ignore[union-attr]
    with pytest.raises(InvalidInput, match="unknown role 'nope'"):
        inv.update("nope", x=1)


def test_list_union_and_filter() -> None:
    inv = Inventory()
    inv.add("a", ["test", "live"])
    inv.add("b", "test")
    inv.add("c", "live")
    inv.add("d", "other")
    assert inv.list(["test", "live"]) == ["a", "b", "c"]  # a once
    assert inv.list(["test", "live"], filter="live") == ["a", "c"]
    assert inv.list() == ["a", "b", "c", "d"]
    assert inv.list("missing") == []


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        ("host", 5, "'host' must be a string"),
        ("port", "22", "'port' must be a whole number"),
        ("port", 70000, "between 1 and 65535"),
        ("env", {"A": 1}, "A must be a string"),
        ("env", {"A-B": "x"}, "not a variable name"),
        ("helper", print, "must be JSON data"),
        ("connect_timeout", 0, "positive number"),
    ],
)
def test_bad_variables_are_refused_naming_site_and_variable(
    key: str, value: object, needle: str
) -> None:
    inv = Inventory()
    with pytest.raises(InvalidInput, match=needle) as err:
        inv.add("web1", **{key: value})
    assert "web1" in str(err.value)
    assert inv.get("web1") is None  # nothing half-added


def test_config_sites_and_roles(tmp_path: Path) -> None:
    path = tmp_path / "jobyard.toml"
    path.write_text(
        '[sites.web1]\nroles = ["app", "primary"]\nhost = "10.0.0.1"\nport = 2222\n'
        'path = "/srv/www"\n[sites.web2]\nroles = "app"\nhost = "10.0.0.2"\n'
        '[sites.local]\nscripts = "~/scripts"\n'
        '[roles.app]\nadmin = "ops@example.com"\nenv = { DEPLOY = "1" }\n'
    )
    yard = Yard(config=load_config(str(path)))
    assert yard.sites.list("app") == ["web1", "web2"]
    web1 = yard.sites.get("web1")
    assert web1 is not None
    assert (web1.host, web1.port, web1.path, web1.admin) == (
        "10.0.0.1",
        2222,
        "/srv/www",
        "ops@example.com",
    )
    assert web1.env == {"DEPLOY": "1"}
    assert yard.sites.get("local").local  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[sites.web1]\nhost = 5\n", "site 'web1' variable 'host' must be a string"),
        ('[roles.ghost]\nx = "1"\n', r"\[roles.ghost\] has no sites"),
        ('[sites.web1]\nname = "other"\n', "name of a site is fixed"),
        ("sites = 3\n", r"\[sites.NAME\] entries must be tables"),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "jobyard.toml"
    path.write_text(text)
    yard = Yard(config=load_config(str(path)))
    with pytest.raises(ConfigError, match=needle):
        yard.sites  # noqa: B018
