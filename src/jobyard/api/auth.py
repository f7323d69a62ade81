"""Who is calling: the :class:`Principal` of a request and the roles it may act in.

The app holds one :class:`Authenticator`. It turns a request into a Principal (from a
``Bearer`` token or a browser session) or None; the endpoint wrapper then checks the
endpoint's roles, and CSRF for a session on a state-changing request. :class:`NoAuth` is
the explicit ``--no-auth`` mode (loopback only): every caller is an admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from starlette.requests import Request

Role = Literal["viewer", "operator", "admin", "worker"]
ROLES: tuple[Role, ...] = ("viewer", "operator", "admin", "worker")

# The endpoint role sets. Roles do not nest implicitly: an endpoint lists each one it allows.
PUBLIC: frozenset[Role] = frozenset()  # no authentication at all (only /healthz)
READ: frozenset[Role] = frozenset({"viewer", "operator", "admin"})
MANAGE: frozenset[Role] = frozenset({"operator", "admin"})
ADMIN: frozenset[Role] = frozenset({"admin"})
WORK: frozenset[Role] = frozenset({"worker"})


def run_as_refusal(role: Role, props: Any) -> str | None:
    """Why ``role`` may not create a job with these props (None: it may). The user a job's
    scripts and local shells run as (``props.run_as``) is an admin's choice, as the type's
    run_as is: an operator naming it could run an admin's script as any account."""
    if role == "admin" or not isinstance(props, dict) or props.get("run_as") in (None, ""):
        return None
    return "props.run_as (the user the job runs as) may be set by an admin only"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. ``via`` is ``token`` or ``session`` (CSRF applies to
    sessions only); ``user_id``/``token_id`` identify it for the audit log; ``name`` is the
    user's name (a worker token's name is its worker identity)."""

    name: str
    role: Role
    via: Literal["token", "session", "none"]
    user_id: int | None = None
    token_id: int | None = None
    csrf: str | None = None  # the session's CSRF token (sessions only)


class Authenticator(Protocol):
    """What the API needs from the auth system."""

    enabled: bool

    def authenticate(self, request: Request) -> Principal | None:
        """The caller of ``request`` (None: no or bad credentials). Blocking: it is called
        from a worker thread."""
        ...

    def audit(
        self, principal: Principal | None, action: str, target: str, detail: dict[str, Any]
    ) -> None:
        """Record that ``principal`` did ``action`` on ``target`` (a state change, or a
        refused/failed attempt worth keeping: logins). Blocking."""


class NoAuth:
    """``--no-auth``: every caller is an admin named ``anonymous``; nothing is audited but
    still logged by the server. Only allowed on a loopback bind (checked by the CLI)."""

    enabled = False

    def authenticate(self, request: Request) -> Principal | None:
        return Principal(name="anonymous", role="admin", via="none")

    def audit(
        self, principal: Principal | None, action: str, target: str, detail: dict[str, Any]
    ) -> None:
        return None
