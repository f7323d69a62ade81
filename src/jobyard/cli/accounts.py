"""``jobyard user ...``, ``jobyard token ...`` and ``jobyard audit``: accounts of the HTTP
API and web UI. Passwords come from a prompt or stdin, never from argv; a token is
printed once, when it is created."""

from __future__ import annotations

import sys

import click

from jobyard import accounts
from jobyard.cli.common import get_yard, print_json
from jobyard.errors import InvalidInput
from jobyard.model import iso


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise InvalidInput("--password-stdin: nothing on stdin")
        return line.rstrip("\r\n")
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    return value


@click.group("user")
def user_group() -> None:
    """Users of the web UI and API (roles: viewer, operator, admin)."""


@user_group.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(accounts.USER_ROLES))
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.pass_context
def user_add(ctx: click.Context, name: str, role: str, password_stdin: bool) -> None:
    """Add a user (asks for the password)."""
    yard = get_yard(ctx, load_apps=False)
    yard.migrate()
    accounts.check_name(name)
    user = accounts.add_user(yard.store, name, role, _password(password_stdin))
    click.echo(f"user {user.name} added ({user.role})")


@user_group.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True)
@click.pass_context
def user_passwd(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """Set a user's password."""
    yard = get_yard(ctx, load_apps=False)
    accounts.get_user(yard.store, name)
    accounts.set_password(yard.store, name, _password(password_stdin))
    click.echo(f"password of {name} changed")


@user_group.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice(accounts.USER_ROLES))
@click.pass_context
def user_role(ctx: click.Context, name: str, role: str) -> None:
    """Change a user's role."""
    accounts.set_role(get_yard(ctx, load_apps=False).store, name, role)
    click.echo(f"{name} is now {role}")


@user_group.command("remove")
@click.argument("name")
@click.pass_context
def user_remove(ctx: click.Context, name: str) -> None:
    """Remove a user with their sessions and tokens."""
    accounts.remove_user(get_yard(ctx, load_apps=False).store, name)
    click.echo(f"user {name} removed")


@user_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def user_list(ctx: click.Context, as_json: bool) -> None:
    """Every user."""
    users = get_yard(ctx, load_apps=False).store.users()
    if as_json:
        print_json([{"name": u.name, "role": u.role, "created": iso(u.created)} for u in users])
        return
    for u in users:
        click.echo(f"{u.name:<24} {u.role:<9} {iso(u.created)}")


@click.group("token")
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
    yard = get_yard(ctx, load_apps=False)
    yard.migrate()
    new = accounts.create_token(yard.store, name, role, accounts.parse_expiry(expires), user)
    click.echo(new.secret)
    until = iso(new.row.expires) or "never"
    click.echo(f"token {new.row.id} ({role}) expires {until}; it is not shown again", err=True)


@token_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def token_list(ctx: click.Context, as_json: bool) -> None:
    """Every token (never its secret)."""
    rows = get_yard(ctx, load_apps=False).store.tokens()
    out = [
        {
            "id": t.id,
            "name": t.name,
            "role": t.role,
            "prefix": t.prefix,
            "expires": iso(t.expires),
            "revoked": iso(t.revoked),
            "last_used": iso(t.last_used),
        }
        for t in rows
    ]
    if as_json:
        print_json(out)
        return
    for t in out:
        state = "revoked" if t["revoked"] else f"expires {t['expires'] or 'never'}"
        click.echo(
            f"{t['id']:>4} {t['name']:<20} {t['role']:<9} {t['prefix']}…  {state}; "
            f"last used {t['last_used'] or 'never'}"
        )


@token_group.command("revoke")
@click.argument("token_id", type=click.IntRange(1, 2**63 - 1))
@click.pass_context
def token_revoke(ctx: click.Context, token_id: int) -> None:
    """Revoke a token (servers refuse it within seconds)."""
    accounts.revoke_token(get_yard(ctx, load_apps=False).store, token_id)
    click.echo(f"token {token_id} revoked")


@click.command("audit")
@click.option("--actor", default=None)
@click.option("--action", default=None)
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def audit_cmd(
    ctx: click.Context, actor: str | None, action: str | None, limit: int, as_json: bool
) -> None:
    """Who did what through the API and web UI, newest last."""
    rows = accounts.audit_page(get_yard(ctx, load_apps=False).store, actor, action, None, limit)
    rows.reverse()
    if as_json:
        print_json(
            [
                {
                    "id": r.id,
                    "time": iso(r.time),
                    "actor": r.actor,
                    "role": r.role,
                    "action": r.action,
                    "target": r.target,
                    "address": r.address,
                    "outcome": r.outcome,
                }
                for r in rows
            ]
        )
        return
    for r in rows:
        click.echo(
            f"{iso(r.time)} {r.actor or '-':<16} {r.action:<32} {r.target} "
            f"[{r.outcome}]" + (f" from {r.address}" if r.address else "")
        )


def register(group: click.Group) -> None:
    for command in (user_group, token_group, audit_cmd):
        group.add_command(command)
