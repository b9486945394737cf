"""``scimrelay tenant``: create, list and delete tenants."""

from __future__ import annotations

import click

from scimrelay.cli.common import (
    json_option,
    open_context,
    open_operations,
    print_json,
    print_table,
    reports_errors,
)


@click.group()
def tenant() -> None:
    """Manage tenants."""


@tenant.command("create")
@click.argument("name")
@json_option
@reports_errors
def create(name: str, as_json: bool) -> None:
    """Create a tenant named NAME."""
    with open_operations() as ops:
        created = ops.create_tenant(name)
    if as_json:
        print_json(created.to_dict())
    else:
        click.echo(f"tenant {created.id} created")


@tenant.command("list")
@json_option
@reports_errors
def list_tenants(as_json: bool) -> None:
    """List tenants."""
    with open_context() as context:
        tenants = context.service.list_tenants()
    if as_json:
        print_json([item.to_dict() for item in tenants])
    else:
        print_table([[item.id, item.name] for item in tenants], ["ID", "NAME"])


@tenant.command("delete")
@click.argument("tenant_id")
@json_option
@reports_errors
def delete(tenant_id: str, as_json: bool) -> None:
    """Delete a tenant and all its integrations."""
    with open_operations() as ops:
        ops.delete_tenant(tenant_id)
    if as_json:
        print_json({"id": tenant_id, "deleted": True})
    else:
        click.echo(f"tenant {tenant_id} deleted")
