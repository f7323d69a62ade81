"""What people see of the accounts (the API, the CLI and the web UI alike): users,
tokens and audit entries as JSON-style dicts, times in ISO 8601. Never a secret, a
password or a password hash: the rows here do not hold any but the hash, left out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jobyard.model import iso

if TYPE_CHECKING:
    from jobyard.store.accounts import AuditRow, TokenRow, UserRow


def user_view(u: UserRow) -> dict[str, Any]:
    return {"name": u.name, "role": u.role, "lang": u.lang, "created": iso(u.created)}


def token_view(t: TokenRow, owners: Mapping[int, str] | None = None) -> dict[str, Any]:
    """``owners``: user names by id, for the ``user`` a token belongs to."""
    return {
        "id": t.id,
        "name": t.name,
        "role": t.role,
        "user": (owners or {}).get(t.user_id) if t.user_id is not None else None,
        "prefix": t.prefix,
        "created": iso(t.created),
        "expires": iso(t.expires),
        "revoked": iso(t.revoked),
        "last_used": iso(t.last_used),
    }


def audit_view(r: AuditRow) -> dict[str, Any]:
    return {
        "id": r.id,
        "time": iso(r.time),
        "actor": r.actor,
        "role": r.role,
        "via": r.via,
        "action": r.action,
        "target": r.target,
        "address": r.address,
        "outcome": r.outcome,
        "detail": r.detail,
    }
