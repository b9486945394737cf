"""``scimrelay source google``: set, show and remove an integration's Google source."""

from __future__ import annotations

from pathlib import Path

import click

from scimrelay.cli.common import json_option, open_context, print_json, reports_errors
from scimrelay.errors import SettingsError
from scimrelay.sync.service import (
    DEFAULT_INTERVAL_MINUTES,
    GoogleSourceInput,
    GoogleSourceView,
    SourceService,
)
from scimrelay.sync.validation import parse_mapping_lines


@click.group()
def source() -> None:
    """Manage directory sources that sync into an integration's downstream."""


@source.group()
def google() -> None:
    """Manage a Google Workspace source, read with a service account."""


@google.command("set")
@click.argument("integration_id")
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Service-account JSON key; required the first time, kept if left out.",
)
@click.option("--subject", required=True, help="Administrator the account acts as.")
@click.option("--customer", help="Customer ID, such as my_customer or C03az79cb.")
@click.option("--domain", help="A domain instead of the customer ID.")
@click.option(
    "--org-unit",
    "org_units",
    multiple=True,
    metavar="PATH",
    help="Only users in this org unit and below, such as /Sales; repeatable.",
)
@click.option(
    "--group",
    "group_patterns",
    multiple=True,
    metavar="PATTERN",
    help="Only groups whose email matches, such as eng-*@example.com; repeatable.",
)
@click.option("--no-groups", is_flag=True, help="Sync users only.")
@click.option(
    "--interval",
    "interval_minutes",
    type=int,
    default=DEFAULT_INTERVAL_MINUTES,
    show_default=True,
    help="Minutes between scheduled runs; 0 runs only on demand.",
)
@click.option(
    "--delete-users",
    is_flag=True,
    help="Delete users that leave the selection instead of deactivating them.",
)
@click.option("--api-url", help="Directory API root, for a proxy or a test server.")
@click.option(
    "--map",
    "mappings",
    multiple=True,
    metavar="TARGET=FIELD",
    help="Map a SCIM attribute from a Google field; TARGET= unmaps it; repeatable.",
)
@json_option
@reports_errors
def set_google(
    integration_id: str,
    key_file: Path | None,
    org_units: tuple[str, ...],
    group_patterns: tuple[str, ...],
    no_groups: bool,
    mappings: tuple[str, ...],
    as_json: bool,
    **values: object,
) -> None:
    """Create or replace the Google source of INTEGRATION_ID."""
    data = GoogleSourceInput(
        subject=str(values["subject"]),
        customer=values["customer"],  # type: ignore[arg-type]
        domain=values["domain"],  # type: ignore[arg-type]
        key_json=_read_key(key_file),
        org_units=list(org_units),
        group_patterns=list(group_patterns),
        sync_groups=not no_groups,
        delete_users=bool(values["delete_users"]),
        interval_minutes=int(values["interval_minutes"]),  # type: ignore[call-overload]
        api_url=values["api_url"],  # type: ignore[arg-type]
        mapping=parse_mapping_lines(mappings),
    )
    with open_context() as context:
        view = SourceService(context.store, context.keyring).set_google(
            integration_id, data
        )
    if as_json:
        print_json(view.to_dict())
        return
    click.echo(f"Google source of integration {integration_id} set")
    click.echo(
        f"grant client ID {view.client_id} these scopes in domain-wide delegation: "
        + ",".join(view.scopes)
    )


@google.command("show")
@click.argument("integration_id")
@json_option
@reports_errors
def show_google(integration_id: str, as_json: bool) -> None:
    """Show the Google source of INTEGRATION_ID (never its private key)."""
    with open_context() as context:
        view = SourceService(context.store, context.keyring).get_google(integration_id)
    if as_json:
        print_json(view.to_dict())
    else:
        _print_view(view)


@google.command("remove")
@click.argument("integration_id")
@json_option
@reports_errors
def remove_google(integration_id: str, as_json: bool) -> None:
    """Remove the Google source; the downstream's users and groups stay."""
    with open_context() as context:
        SourceService(context.store, context.keyring).remove_google(integration_id)
    if as_json:
        print_json({"integration_id": integration_id, "removed": True})
    else:
        click.echo(f"Google source of integration {integration_id} removed")


def _read_key(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError.single(
            "key_file", f"cannot read {path}: {getattr(error, 'strerror', error)}"
        ) from None


def _print_view(view: GoogleSourceView) -> None:
    scope = f"customer {view.customer}" if view.customer else f"domain {view.domain}"
    interval = (
        f"every {view.interval_minutes} minutes"
        if view.interval_minutes
        else "on demand only"
    )
    click.echo(f"integration:      {view.integration_id}")
    click.echo(f"service account:  {view.client_email} (client ID {view.client_id})")
    click.echo(f"key ID:           {view.key_id}")
    click.echo(f"acts as:          {view.subject}")
    click.echo(f"directory:        {scope}")
    click.echo(f"org units:        {', '.join(view.org_units) or 'all'}")
    groups = ", ".join(view.group_patterns) or "all"
    click.echo(f"groups:           {groups if view.sync_groups else 'not synced'}")
    click.echo(f"runs:             {interval}")
    left = "deleted" if view.delete_users else "deactivated"
    click.echo(f"users who leave:  {left}")
    click.echo(f"scopes:           {','.join(view.scopes)}")
    for target, field in view.effective_mapping.items():
        click.echo(f"map {target:<26} <- {field}")
