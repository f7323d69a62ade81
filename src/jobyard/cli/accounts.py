"""``jobyard user ...``, ``jobyard token ...`` and ``jobyard audit``: accounts of the HTTP
API and web UI. Passwords come from a prompt or stdin, never from argv; a token is
printed once, when it is created."""

from __future__ import annotations

import getpass
import sys

import click

from jobyard import accounts
from jobyard.account_views import audit_view, token_view, user_view
from jobyard.cli.common import get_yard, print_json
from jobyard.cli.helptext import Command, Group
from jobyard.errors import InvalidInput
from jobyard.i18n import _
from jobyard.model import iso
from jobyard.store import Store


def _store(ctx: click.Context) -> Store:
    """The store with the accounts tables (made on first use, as by ``jobyard web``)."""
    yard = get_yard(ctx, load_apps=False)
    yard.migrate()
    return yard.store


def _audit(store: Store, action: str, target: str) -> None:
    """The CLI's changes are in the audit log too, under the OS user who ran them."""
    accounts.audit(store, getpass.getuser(), None, "cli", action, target, None, "ok")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise InvalidInput(_("--password-stdin: nothing on stdin"))
        return line.rstrip("\r\n")
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    return value


@click.group("user", cls=Group)
def user_group() -> None:
    """Users of the web UI and API (roles: viewer, operator, admin)."""


@user_group.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(accounts.USER_ROLES))
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.pass_context
def user_add(ctx: click.Context, name: str, role: str, password_stdin: bool) -> None:
    """Add a user (asks for the password)."""
    store = _store(ctx)
    accounts.check_name(name)  # before asking for a password
    if store.user_by_name(name) is not None:
        raise InvalidInput(
            _("user {name!r} exists already; change it with `jobyard user passwd`", name=name)
        )
    user = accounts.add_user(store, name, role, _password(password_stdin))
    _audit(store, "user add", name)
    click.echo(_("user {name} added ({role})", name=user.name, role=user.role))


@user_group.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True)
@click.pass_context
def user_passwd(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """Set a user's password (ends their browser sessions)."""
    store = _store(ctx)
    accounts.get_user(store, name)
    accounts.set_password(store, name, _password(password_stdin))
    _audit(store, "user passwd", name)
    click.echo(_("password of {name} changed", name=name))


@user_group.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice(accounts.USER_ROLES))
@click.pass_context
def user_role(ctx: click.Context, name: str, role: str) -> None:
    """Change a user's role."""
    store = _store(ctx)
    accounts.set_role(store, name, role)
    _audit(store, "user role", name)
    click.echo(_("{name} is now {role}", name=name, role=role))


@user_group.command("lang")
@click.argument("name")
@click.argument("lang")
@click.pass_context
def user_lang(ctx: click.Context, name: str, lang: str) -> None:
    """Set the language a user reads (en, ru; default forgets it): the answers to them in
    Slack. The web UI's language switch sets it too."""
    store = _store(ctx)
    user = accounts.set_language(store, name, None if lang == "default" else lang)
    _audit(store, "user lang", name)
    if user.lang is None:
        click.echo(_("{name} uses the default language now", name=name))
    else:
        click.echo(_("{name} reads {lang} now", name=name, lang=user.lang))


@user_group.command("remove")
@click.argument("name")
@click.pass_context
def user_remove(ctx: click.Context, name: str) -> None:
    """Remove a user with their sessions and tokens (never the last admin)."""
    store = _store(ctx)
    accounts.remove_user(store, name)
    _audit(store, "user remove", name)
    click.echo(_("user {name} removed", name=name))


@user_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def user_list(ctx: click.Context, as_json: bool) -> None:
    """Every user."""
    users = [user_view(u) for u in _store(ctx).users()]
    if as_json:
        print_json(users)
        return
    for u in users:
        click.echo(f"{u['name']:<24} {u['role']:<9} {u['lang'] or '-':<4} {u['created']}")


@click.group("token", cls=Group)
def token_group() -> None:
    """API tokens (roles: viewer, operator, admin, worker)."""


@token_group.command("create")
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(accounts.ROLES))
@click.option("--expires", default="90d", show_default=True, help="30d, 12h, 90m or never.")
@click.option("--user", default=None, help="The user it acts for (removed with them).")
@click.pass_context
def token_create(ctx: click.Context, name: str, role: str, expires: str, user: str | None) -> None:
    """Create a token and print it (once: it is stored hashed)."""
    expires_in = accounts.parse_expiry(expires)
    store = _store(ctx)
    new = accounts.create_token(store, name, role, expires_in, user)
    _audit(store, "token create", f"token {new.row.id} {name}")
    click.echo(new.secret)
    until = iso(new.row.expires) or "never"
    click.echo(
        _(
            "token {id} ({role}) expires {until}; it is not shown again",
            id=new.row.id,
            role=role,
            until=until,
        ),
        err=True,
    )


@token_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def token_list(ctx: click.Context, as_json: bool) -> None:
    """Every token (never its secret)."""
    store = _store(ctx)
    owners = {u.id: u.name for u in store.users()}
    out = [token_view(t, owners) for t in store.tokens()]
    if as_json:
        print_json(out)
        return
    for t in out:
        state = "revoked" if t["revoked"] else f"expires {t['expires'] or 'never'}"
        click.echo(
            _(
                "{id:>4} {name:<20} {role:<9} {prefix}…  {state}; last used {value}",
                id=t["id"],
                name=t["name"],
                role=t["role"],
                prefix=t["prefix"],
                state=state,
                value=t["last_used"] or "never",
            )
        )


@token_group.command("revoke")
@click.argument("token_id", type=click.IntRange(1, 2**63 - 1))
@click.pass_context
def token_revoke(ctx: click.Context, token_id: int) -> None:
    """Revoke a token (servers refuse it within seconds)."""
    store = _store(ctx)
    accounts.revoke_token(store, token_id)
    _audit(store, "token revoke", f"token {token_id}")
    click.echo(_("token {token_id} revoked", token_id=token_id))


@click.command("audit", cls=Command)
@click.option("--actor", default=None, help="A user or token name.")
@click.option("--action", default=None, help='e.g. "POST /api/v1/jobs" or login.')
@click.option("--outcome", type=click.Choice(["ok", "refused", "failed"]), default=None)
@click.option(
    "--before", type=click.IntRange(1, 2**63 - 1), default=None, help="Entries before this id."
)
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def audit_cmd(
    ctx: click.Context,
    actor: str | None,
    action: str | None,
    outcome: str | None,
    before: int | None,
    limit: int,
    as_json: bool,
) -> None:
    """Who did what through the API and web UI: the newest entries, oldest first."""
    store = _store(ctx)
    rows = accounts.audit_page(store, actor, action, before, limit, outcome=outcome)
    rows.reverse()
    if as_json:
        print_json([audit_view(r) for r in rows])
        return
    for r in rows:
        who = f"{r.actor or '-'}" + (f" ({r.via})" if r.via else "")
        click.echo(
            f"{r.id:>6} {iso(r.time)} {who:<24} {r.action:<32} {r.target} "
            f"[{r.outcome}]" + (f" from {r.address}" if r.address else "")
        )


def register(group: click.Group) -> None:
    for command in (user_group, token_group, audit_cmd):
        group.add_command(command)
