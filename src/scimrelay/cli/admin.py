"""``scimrelay admin``: console accounts, and the first owner's setup link."""

from __future__ import annotations

import sys

import click
import orjson

from scimrelay.admin.access import OWNER, TENANT_ADMIN, system_actor
from scimrelay.admin.operations import Admin
from scimrelay.cli.common import (
    json_option,
    open_context,
    print_json,
    print_table,
    reports_errors,
)
from scimrelay.context import AppContext

ROLE_NAMES = {"owner": OWNER, "tenant-admin": TENANT_ADMIN}


@click.group()
def admin() -> None:
    """Manage console and admin API accounts."""


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@admin.command("create")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice(list(ROLE_NAMES)),
    default="owner",
    show_default=True,
    help="An owner sees every tenant; a tenant admin only their own.",
)
@click.option("--tenant", "tenant_id", help="The tenant id of a tenant admin.")
@json_option
@reports_errors
def create(email: str, role: str, tenant_id: str | None, as_json: bool) -> None:
    """Create an admin; the password is read from standard input or prompted for."""
    password = _read_password()
    with open_context() as context:
        ops = Admin.open(context).acting(system_actor())
        view = ops.create_admin(email, password, ROLE_NAMES[role], tenant_id)
    if as_json:
        print_json(view.to_dict())
    else:
        click.echo(f"admin {view.email} created ({role})")


@admin.command("list")
@json_option
@reports_errors
def list_admins(as_json: bool) -> None:
    """List admins."""
    with open_context() as context:
        views = Admin.open(context).accounts.list_admins()
    if as_json:
        print_json([view.to_dict() for view in views])
        return
    rows = [[view.id, view.email, view.role, view.tenant_id or "-"] for view in views]
    print_table(rows, ["ID", "EMAIL", "ROLE", "TENANT"])


def announce_setup(context: AppContext, host: str, port: int) -> None:
    """Print a one-time setup link when no admin account exists yet."""
    token = Admin.open(context).accounts.issue_setup_token()
    if token is None:
        return
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if ":" in shown_host:
        shown_host = f"[{shown_host}]"
    base = context.settings.public_url or f"http://{shown_host}:{port}"
    link = f"{base}/admin/setup?token={token}"
    if context.settings.log_format == "json":
        # One JSON object, so that the output stays parseable as JSON lines.
        event = {"event": "no admin account exists yet", "setup_link": link}
        click.echo(orjson.dumps({**event, "level": "warning"}).decode())
        return
    click.echo("No admin account exists yet. Open this link once to create the owner:")
    click.echo(f"  {link}")
    click.echo("Or run: scimrelay admin create EMAIL")
