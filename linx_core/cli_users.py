"""``linx user``: the Portal's people (issue 15). Registered on :func:`linx_core.cli.main`.

Passwords are read from standard input (``--password-stdin``), never from the command line, where ``ps`` and
the shell's history would show them. Every change is written to the business's audit log, by ``cli``.
"""
from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # pragma: no cover
    from .store.models import PortalUser


def _read_password(password_stdin: bool) -> str:
    if not password_stdin:
        raise click.UsageError("give the password on standard input, with --password-stdin")
    return sys.stdin.readline().rstrip("\r\n")


def user_dict(user: PortalUser) -> dict[str, Any]:
    from .events import iso

    return {"id": str(user.id), "email": user.email, "businessId": str(user.business_id), "role": user.role,
            "createdAt": iso(user.created_at), "disabledAt": iso(user.disabled_at)}


def register(main: click.Group, group_cls: type[click.Group]) -> None:
    @main.group("user", cls=group_cls)
    def user() -> None:
        """The Portal's users: people of a business who sign in at /portal."""

    @user.command("create")
    @click.argument("email")
    @click.option("--business", "business_name", required=True, help="The business: its name or its id.")
    @click.option("--role", type=click.Choice(["admin", "operator", "viewer"]), default="viewer", show_default=True)
    @click.option("--password-stdin", is_flag=True, help="Read the password (12 characters or more) from standard "
                                                         "input.")
    @click.option("--json", "as_json", is_flag=True, help="Print the user as JSON.")
    def user_create(email: str, business_name: str, role: str, password_stdin: bool, as_json: bool) -> None:
        """Create a Portal user EMAIL of a business."""
        from .boot import runtime
        from .services import portal_users

        password = _read_password(password_stdin)
        rt = runtime()
        with rt.database.connection_context():
            business = portal_users.find_business(business_name)
            created = portal_users.create_user(business, email, role, password)
        click.echo(json.dumps(user_dict(created)) if as_json else
                   f"User {created.email} ({created.role}) of {business.name} created.")

    @user.command("list")
    @click.option("--business", "business_name", help="Only this business's users (its name or id).")
    @click.option("--json", "as_json", is_flag=True)
    def user_list(business_name: str | None, as_json: bool) -> None:
        """List the Portal's users: email, role, business, disabled."""
        from .boot import runtime
        from .services import portal_users

        rt = runtime()
        with rt.database.connection_context():
            business = portal_users.find_business(business_name) if business_name else None
            rows = [user_dict(u) for u in portal_users.list_users(business)]
        if as_json:
            click.echo(json.dumps({"users": rows}))
            return
        click.echo(f"{'EMAIL':<36}{'ROLE':<10}{'BUSINESS':<38}DISABLED")
        for row in rows:
            click.echo(f"{row['email']:<36}{row['role']:<10}{row['businessId']:<38}{(row['disabledAt'] or '-')[:19]}")

    @user.command("disable")
    @click.argument("email")
    @click.option("--json", "as_json", is_flag=True)
    def user_disable(email: str, as_json: bool) -> None:
        """Disable the user EMAIL: they cannot sign in, and their sessions end now."""
        from .boot import runtime
        from .services import portal_users

        rt = runtime()
        with rt.database.connection_context():
            found = portal_users.disable_user(portal_users.find_user(email))
        click.echo(json.dumps(user_dict(found)) if as_json else f"User {found.email} is disabled.")

    @user.command("reset-password")
    @click.argument("email")
    @click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
    @click.option("--json", "as_json", is_flag=True)
    def user_reset_password(email: str, password_stdin: bool, as_json: bool) -> None:
        """Give the user EMAIL a new password: their sessions end, a lockout is lifted."""
        from .boot import runtime
        from .services import portal_users

        password = _read_password(password_stdin)
        rt = runtime()
        with rt.database.connection_context():
            found = portal_users.reset_password(portal_users.find_user(email), password)
        click.echo(json.dumps(user_dict(found)) if as_json else f"User {found.email} has a new password.")
