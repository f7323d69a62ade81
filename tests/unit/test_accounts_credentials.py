"""Credentials as values (jobyard.credentials): argon2id hashes, secrets, input checks."""

from __future__ import annotations

import pytest

from jobyard import credentials as c
from jobyard.errors import InvalidInput


def test_passwords_are_argon2id_and_verify() -> None:
    hashed = c.hash_password("correct horse")
    assert hashed.startswith("$argon2id$") and "correct horse" not in hashed
    assert c.verify_password(hashed, "correct horse")
    assert not c.verify_password(hashed, "correct horsE")
    assert not c.verify_password("not a hash", "correct horse")  # no exception either
    assert c.hash_password("correct horse") != hashed  # salted


def test_the_dummy_hash_is_made_once_on_first_use() -> None:
    assert c.dummy_hash() is c.dummy_hash()
    assert not c.verify_password(c.dummy_hash(), "")


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "at least 8"),
        ("", "at least 8"),
        (None, "at least 8"),
        ("x" * 1025, "at most 1024"),
        ("nul in\x00it", "password"),
    ],
)
def test_bad_passwords_are_refused_with_a_clear_message(password: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        c.check_password(password)


def test_secrets_are_long_random_and_digested() -> None:
    a, b = c.new_secret(c.TOKEN_PREFIX), c.new_secret(c.TOKEN_PREFIX)
    assert a.startswith("jy_") and len(a) >= 46 and a != b
    assert c.digest(a) == c.digest(a) and len(c.digest(a)) == 64 and a not in c.digest(a)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30d", 30 * 86400.0), ("12h", 43200.0), ("90m", 5400.0), ("3600", 3600.0), ("never", None)],
)
def test_expiry_texts(text: str, seconds: float | None) -> None:
    assert c.parse_expiry(text) == seconds


@pytest.mark.parametrize("text", ["", "30x", "-5d", "10s", "99999d", "1e3", 30])
def test_bad_expiries_are_one_clear_error(text: object) -> None:
    with pytest.raises(InvalidInput, match=r"expiry|at least a minute|at most 3650"):
        c.parse_expiry(text)  # type: ignore[arg-type]


def test_names_and_roles() -> None:
    assert c.check_name("ann.smith@example.com") == "ann.smith@example.com"
    for bad in ("", "has space", "x" * 101, "semi;colon", 5):
        with pytest.raises(InvalidInput, match="invalid user name"):
            c.check_name(bad)
    assert c.check_role("worker") == "worker"
    with pytest.raises(InvalidInput, match="roles: viewer, operator, admin"):
        c.check_role("worker", c.USER_ROLES)
