"""Accounts tables: users, API tokens, sessions, setup links, login failures, audit log.

Secrets never reach this layer: tokens, sessions and setup links arrive as SHA-256
hashes, passwords as argon2id hashes (jobyard.accounts makes both)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jobyard.store.core import StoreCore


@dataclass(frozen=True)
class UserRow:
    id: int
    name: str
    role: str
    password_hash: str
    created: float
    updated: float
    lang: str | None = None  # the language the user chose (None: never chose)


@dataclass(frozen=True)
class TokenRow:
    id: int
    name: str
    role: str
    user_id: int | None
    prefix: str
    created: float
    expires: float | None
    revoked: float | None
    last_used: float | None


@dataclass(frozen=True)
class SessionRow:
    user_id: int
    name: str
    role: str
    csrf: str
    expires: float


@dataclass(frozen=True)
class AuditRow:
    id: int
    time: float
    actor: str | None
    role: str | None
    via: str | None
    action: str
    target: str
    address: str | None
    outcome: str
    detail: dict[str, Any]


def _opt(value: Any) -> float | None:
    return None if value is None else float(value)


class AccountsMixin(StoreCore):
    # -- users -----------------------------------------------------------------------------

    def insert_user(self, name: str, role: str, password_hash: str, now: float) -> int:
        params = {"name": name, "role": role, "password_hash": password_hash, "now": now}
        return int(self.execute("user_insert", params).fetchone()[0])

    def _user(self, row: Any) -> UserRow:
        return UserRow(
            int(row["id"]),
            str(row["name"]),
            str(row["role"]),
            str(row["password_hash"]),
            float(row["created"]),
            float(row["updated"]),
            None if row["lang"] is None else str(row["lang"]),
        )

    def user_by_name(self, name: str) -> UserRow | None:
        row = self.execute("user_by_name", {"name": name}).fetchone()
        return None if row is None else self._user(row)

    def user_by_id(self, user_id: int) -> UserRow | None:
        row = self.execute("user_by_id", {"id": user_id}).fetchone()
        return None if row is None else self._user(row)

    def users(self) -> list[UserRow]:
        return [self._user(r) for r in self.execute("users_all", {}).fetchall()]

    def count_users(self, role: str | None = None) -> int:
        """How many users (of ``role``, when given)."""
        return int(self.execute("users_count", {"role": role}).fetchone()[0])

    def set_user_password(self, user_id: int, password_hash: str, now: float) -> None:
        params = {"id": user_id, "password_hash": password_hash, "now": now}
        self.execute("user_set_password", params)

    def set_user_role(self, user_id: int, role: str, now: float) -> None:
        self.execute("user_set_role", {"id": user_id, "role": role, "now": now})

    def set_user_lang(self, user_id: int, lang: str | None, now: float) -> None:
        self.execute("user_set_lang", {"id": user_id, "lang": lang, "now": now})

    def delete_sessions_of_user(self, user_id: int) -> int:
        return self.execute("sessions_delete_of_user", {"user_id": user_id}).rowcount

    def delete_user(self, user_id: int) -> bool:
        """Remove a user with their sessions and tokens (one transaction)."""
        with self.transaction():
            self.execute("sessions_delete_of_user", {"user_id": user_id})
            self.execute("tokens_delete_of_user", {"user_id": user_id})
            return self.execute("user_delete", {"id": user_id}).rowcount == 1

    # -- API tokens ------------------------------------------------------------------------

    def insert_token(
        self,
        name: str,
        role: str,
        user_id: int | None,
        token_hash: str,
        prefix: str,
        now: float,
        expires: float | None,
    ) -> int:
        params = {
            "name": name,
            "role": role,
            "user_id": user_id,
            "hash": token_hash,
            "prefix": prefix,
            "now": now,
            "expires": expires,
        }
        return int(self.execute("token_insert", params).fetchone()[0])

    def _token(self, row: Any) -> TokenRow:
        return TokenRow(
            int(row["id"]),
            str(row["name"]),
            str(row["role"]),
            None if row["user_id"] is None else int(row["user_id"]),
            str(row["prefix"]),
            float(row["created"]),
            _opt(row["expires"]),
            _opt(row["revoked"]),
            _opt(row["last_used"]),
        )

    def token_by_hash(self, token_hash: str) -> TokenRow | None:
        row = self.execute("token_by_hash", {"hash": token_hash}).fetchone()
        return None if row is None else self._token(row)

    def tokens(self) -> list[TokenRow]:
        return [self._token(r) for r in self.execute("tokens_all", {}).fetchall()]

    def revoke_token(self, token_id: int, now: float) -> bool:
        return self.execute("token_revoke", {"id": token_id, "now": now}).rowcount == 1

    def touch_token(self, token_id: int, now: float) -> None:
        self.execute("token_touch", {"id": token_id, "now": now})

    # -- sessions and setup links ----------------------------------------------------------

    def insert_session(
        self, session_hash: str, user_id: int, csrf: str, now: float, expires: float
    ) -> None:
        params = {
            "hash": session_hash,
            "user_id": user_id,
            "csrf": csrf,
            "now": now,
            "expires": expires,
        }
        self.execute("session_insert", params)

    def session_by_hash(self, session_hash: str) -> SessionRow | None:
        row = self.execute("session_by_hash", {"hash": session_hash}).fetchone()
        if row is None:
            return None
        return SessionRow(
            int(row["user_id"]),
            str(row["name"]),
            str(row["role"]),
            str(row["csrf"]),
            float(row["expires"]),
        )

    def delete_session(self, session_hash: str) -> None:
        self.execute("session_delete", {"hash": session_hash})

    def prune_sessions(self, now: float) -> None:
        self.execute("sessions_prune", {"now": now})

    def insert_setup_link(self, link_hash: str, now: float, expires: float) -> None:
        self.execute("setup_link_insert", {"hash": link_hash, "now": now, "expires": expires})

    def use_setup_link(self, link_hash: str, now: float) -> bool:
        """Mark a setup link used; False if it is unknown, used already or expired."""
        return self.execute("setup_link_use", {"hash": link_hash, "now": now}).rowcount == 1

    # -- login failures --------------------------------------------------------------------

    def add_login_failure(self, key: str, now: float) -> None:
        self.execute("login_failure_insert", {"key": key, "now": now})

    def login_failures(self, key: str, since: float) -> tuple[int, float | None]:
        """How many failures ``key`` had since ``since``, and when the oldest of them was."""
        row = self.execute("login_failures_count", {"key": key, "since": since}).fetchone()
        return int(row[0]), _opt(row[1])

    def clear_login_failures(self, key: str) -> None:
        self.execute("login_failures_clear", {"key": key})

    def prune_login_failures(self, before: float) -> None:
        self.execute("login_failures_prune", {"before": before})

    # -- signed requests seen (replay guard) ---------------------------------------------

    def use_nonce(self, nonce: str, now: float, keep: float) -> bool:
        """Record a signed request's nonce; False when it was recorded already (a replay),
        by any process. Nonces older than ``keep`` seconds go first."""
        with self._atomic():
            self.execute("nonces_prune", {"before": now - keep})
            return self.execute("nonce_insert", {"nonce": nonce, "now": now}).rowcount == 1

    # -- audit log -------------------------------------------------------------------------

    def insert_audit(
        self,
        now: float,
        actor: str | None,
        role: str | None,
        via: str | None,
        action: str,
        target: str,
        address: str | None,
        outcome: str,
        detail: Mapping[str, Any],
    ) -> None:
        params = {
            "now": now,
            "actor": actor,
            "role": role,
            "via": via,
            "action": action,
            "target": target,
            "address": address,
            "outcome": outcome,
            "detail": self.encode_json(dict(detail)),
        }
        self.execute("audit_insert", params)

    def audit_page(
        self,
        actor: str | None,
        action: str | None,
        before: int | None,
        limit: int,
        outcome: str | None = None,
        since: float | None = None,
    ) -> list[AuditRow]:
        """Newest first: up to ``limit`` entries older than ``before`` (an id), filtered by
        actor, action, outcome and time (``since``, inclusive)."""
        params = {
            "actor": actor,
            "action": action,
            "outcome": outcome,
            "since": since,
            "before": before,
            "limit": limit,
        }
        rows = self.execute("audit_page", params).fetchall()
        return [
            AuditRow(
                int(r["id"]),
                float(r["time"]),
                r["actor"],
                r["role"],
                r["via"],
                str(r["action"]),
                str(r["target"]),
                r["address"],
                str(r["outcome"]),
                self.decode_json(r["detail"]) or {},
            )
            for r in rows
        ]
