"""Credentials as values: password hashing (argon2id), secrets and their digests, and
the checks of names, roles, passwords and token lifetimes (policy with no store: the
store-side rules are in :mod:`jobyard.accounts`).

Tokens, sessions and setup links are random (``secrets.token_urlsafe``, 256 bits) and kept
only as their SHA-256: a high-entropy secret needs no slow hash, and a stolen database
gives no usable credential. Passwords are low-entropy, so they get argon2id.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from jobyard.errors import InvalidInput
from jobyard.i18n import _
from jobyard.limits import check_text

ROLES = ("viewer", "operator", "admin", "worker")
USER_ROLES = ("viewer", "operator", "admin")  # a person; "worker" is for tokens
TOKEN_PREFIX = "jy_"
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
MAX_TOKEN_SECONDS = 3650 * 86400.0
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.@+-]{1,100}$")
_hasher = PasswordHasher()  # argon2id with argon2-cffi's current defaults


@cache
def dummy_hash() -> str:
    """Verified when the user is unknown, so a wrong name takes as long as a wrong
    password (made on first use: hashing at import would be a side effect)."""
    return _hasher.hash("not a password of anyone")


def hash_password(password: str) -> str:
    return _hasher.hash(check_password(password))


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret(prefix: str = "") -> str:
    """A random secret of 256 bits (URL-safe text)."""
    return prefix + secrets.token_urlsafe(32)


def check_name(name: object, what: str = "user name") -> str:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise InvalidInput(
            _(
                "invalid {what} {name!r}: 1 to 100 letters, digits or _ . @ + -",
                what=what,
                name=str(name)[:40],
            )
        )
    return name


def check_role(role: object, allowed: tuple[str, ...] = ROLES) -> str:
    if role not in allowed:
        raise InvalidInput(
            _(
                "invalid role {role!r}; roles: {allowed}",
                role=str(role)[:40],
                allowed=", ".join(allowed),
            )
        )
    return str(role)


def check_password(password: object) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidInput(
            _("the password must be at least {MIN_PASSWORD} characters", MIN_PASSWORD=MIN_PASSWORD)
        )
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(
            _("the password must be at most {MAX_PASSWORD} characters", MAX_PASSWORD=MAX_PASSWORD)
        )
    check_text(password, "the password")
    return password


def parse_expiry(text: str | None) -> float | None:
    """``30d``, ``12h``, ``90m``, ``3600`` (seconds) or ``never``/None → seconds or None."""
    if text is None or text == "never":
        return None
    m = re.fullmatch(r"(\d{1,10})([smhd]?)", text.strip()) if isinstance(text, str) else None
    if not m:
        shown = str(text)[:40]
        raise InvalidInput(
            _("invalid expiry {shown!r}: give e.g. 30d, 12h, 90m or never", shown=shown)
        )
    seconds = int(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    if seconds < 60:
        raise InvalidInput(_("a token must live at least a minute"))
    if seconds > MAX_TOKEN_SECONDS:
        raise InvalidInput(_("a token may live at most 3650 days (or give never)"))
    return float(seconds)
