"""``scimrelay integration``: create, change, test and delete integrations."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from scimrelay.cli.adaptation import (
    apply_profile_options,
    profile_options,
    refresh_capabilities,
    rules,
)
from scimrelay.cli.common import (
    json_option,
    open_context,
    open_operations,
    print_json,
    print_table,
    reports_errors,
)
from scimrelay.errors import SettingsError
from scimrelay.integrations.service import IntegrationInput, IntegrationView
from scimrelay.integrations.validation import Header, parse_header_line

F = TypeVar("F", bound=Callable[..., Any])


@click.group()
def integration() -> None:
    """Manage integrations: a downstream SCIM server and its settings."""


def settings_options(create: bool) -> Callable[[F], F]:
    """Add the options shared by ``create`` and ``update``."""

    def decorate(function: F) -> F:
        options = [
            click.option("--name", required=create, help="Display name."),
            click.option(
                "--scim-url", required=create, help="Downstream SCIM base URL."
            ),
            click.option(
                "--token-stdin",
                is_flag=True,
                help="Read the downstream API token from standard input.",
            ),
            click.option(
                "--token-file",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Read the downstream API token from a file.",
            ),
            click.option(
                "--header",
                "headers",
                multiple=True,
                metavar='"NAME: VALUE"',
                help="Custom HTTP header sent downstream; repeat up to 5 times.",
            ),
            click.option(
                "--secret-header",
                "secret_headers",
                multiple=True,
                metavar='"NAME: VALUE"',
                help="Like --header, with the value masked wherever it is shown.",
            ),
            click.option(
                "--clear-headers",
                is_flag=True,
                hidden=create,
                help="Remove every custom header.",
            ),
            click.option(
                "--group-description",
                help=(
                    "Template for created groups' description; placeholders "
                    "{tenant_id}, {tenant_name}, {integration_id}, "
                    "{integration_name}, {display_name}."
                ),
            ),
            click.option(
                "--force-group-description/--no-force-group-description",
                default=None,
                help=(
                    "Add the description even when the downstream's Group "
                    "schema lacks it."
                ),
            ),
            json_option,
        ]
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


def _read_token(
    token_stdin: bool, token_file: Path | None, required: bool
) -> str | None:
    if token_stdin and token_file:
        raise SettingsError.single(
            "token", "give --token-stdin or --token-file, not both"
        )
    if token_stdin:
        return sys.stdin.read().strip()
    if token_file:
        try:
            return token_file.read_text().strip()
        except OSError as error:
            raise SettingsError.single(
                "token", f"cannot read {token_file}: {error.strerror}"
            ) from None
    if required:
        raise SettingsError.single(
            "token",
            "missing: pass the downstream API token with --token-stdin or --token-file",
        )
    return None


def _headers(
    lines: tuple[str, ...], clear: bool, secret_lines: tuple[str, ...] = ()
) -> list[Header] | None:
    if clear and not secret_lines and not lines:
        return []
    if not lines and not secret_lines:
        return None
    return [parse_header_line(line) for line in lines] + [
        parse_header_line(line, secret=True) for line in secret_lines
    ]


def _settings_input(
    values: dict[str, Any], token: str | None, headers: list[Header] | None
) -> IntegrationInput:
    """Build the service's input from the options shared by create and update."""
    data = IntegrationInput(
        name=values["name"],
        scim_url=values["scim_url"],
        token=token,
        headers=headers,
        group_description=values["group_description"],
        force_group_description=values["force_group_description"],
    )
    apply_profile_options(data, values)
    return data


@integration.command("create")
@click.option("--tenant", "tenant_id", required=True, help="Tenant id.")
@settings_options(create=True)
@profile_options
@reports_errors
def create(
    tenant_id: str,
    token_stdin: bool,
    token_file: Path | None,
    headers: tuple[str, ...],
    secret_headers: tuple[str, ...],
    clear_headers: bool,
    as_json: bool,
    **values: object,
) -> None:
    """Create an integration and print the identity provider's SCIM API key once."""
    token = _read_token(token_stdin, token_file, required=True)
    data = _settings_input(values, token, _headers(headers, False, secret_headers))
    with open_operations() as ops:
        created = ops.create_integration(tenant_id, data)
    view = created.integration
    if as_json:
        print_json(
            {
                **view.to_dict(),
                "api_key": created.key.plaintext,
                "key_id": created.key.key_id,
                "notices": created.notices,
            }
        )
        return
    for notice in created.notices:
        click.echo(f"note: {notice}")
    click.echo(f"integration {view.id} created")
    click.echo(f"SCIM base path: {view.scim_base_path}")
    click.echo(f"SCIM API key (shown once): {created.key.plaintext}")


@integration.command("update")
@click.argument("integration_id")
@settings_options(create=False)
@profile_options
@reports_errors
def update(
    integration_id: str,
    token_stdin: bool,
    token_file: Path | None,
    headers: tuple[str, ...],
    secret_headers: tuple[str, ...],
    clear_headers: bool,
    as_json: bool,
    **values: object,
) -> None:
    """Change an integration's settings; options not given stay unchanged."""
    token = _read_token(token_stdin, token_file, required=False)
    data = _settings_input(
        values, token, _headers(headers, clear_headers, secret_headers)
    )
    with open_operations() as ops:
        view, notices = ops.update_integration(integration_id, data)
    if as_json:
        print_json({**view.to_dict(), "notices": notices})
        return
    for notice in notices:
        click.echo(f"note: {notice}")
    click.echo(f"integration {view.id} updated")


@integration.command("list")
@click.option("--tenant", "tenant_id", help="Only this tenant's integrations.")
@json_option
@reports_errors
def list_integrations(tenant_id: str | None, as_json: bool) -> None:
    """List integrations."""
    with open_context() as context:
        views = context.service.list_integrations(tenant_id)
    if as_json:
        print_json([view.to_dict() for view in views])
        return
    rows = [
        [view.id, view.tenant_id, view.name, view.scim_url, str(len(view.header_names))]
        for view in views
    ]
    print_table(rows, ["ID", "TENANT", "NAME", "SCIM URL", "HEADERS"])


@integration.command("show")
@click.argument("integration_id")
@json_option
@reports_errors
def show(integration_id: str, as_json: bool) -> None:
    """Show an integration's settings (never its token or secret header values)."""
    with open_context() as context:
        view = context.service.get_integration(integration_id)
        headers = context.service.describe_headers(integration_id)
    if as_json:
        print_json({**view.to_dict(), "headers": headers})
    else:
        _print_view(view)
        for header in headers:
            click.echo(f"header {header['name']}: {header['value']}")


def _print_view(view: IntegrationView) -> None:
    click.echo(f"id:                 {view.id}")
    click.echo(f"tenant:             {view.tenant_id}")
    click.echo(f"name:               {view.name}")
    click.echo(f"SCIM URL:           {view.scim_url}")
    click.echo(f"SCIM base path:     {view.scim_base_path}")
    click.echo(f"headers:            {', '.join(view.header_names) or '-'}")
    click.echo(f"group description:  {view.group_description}")
    click.echo(f"profile:            {view.profile}")
    click.echo(f"disabled rules:     {', '.join(view.disabled_rules) or '-'}")
    click.echo(f"provider auth:      {view.provider_auth}")
    for key in view.keys:
        state = (
            f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
        )
        click.echo(f"API key {key.id}: {state}")


@integration.command("delete")
@click.argument("integration_id")
@json_option
@reports_errors
def delete(integration_id: str, as_json: bool) -> None:
    """Delete an integration; its API keys stop working at once."""
    with open_operations() as ops:
        ops.delete_integration(integration_id)
    if as_json:
        print_json({"id": integration_id, "deleted": True})
    else:
        click.echo(f"integration {integration_id} deleted")


@integration.command("rotate-key")
@click.argument("integration_id")
@click.option("--revoke-previous", is_flag=True, help="Revoke every earlier key now.")
@json_option
@reports_errors
def rotate_key(integration_id: str, revoke_previous: bool, as_json: bool) -> None:
    """Issue a new SCIM API key; earlier keys work until revoked."""
    with open_operations() as ops:
        key = ops.rotate_key(integration_id, revoke_previous)
    if as_json:
        print_json(
            {"id": integration_id, "key_id": key.key_id, "api_key": key.plaintext}
        )
    else:
        click.echo(f"SCIM API key {key.key_id} (shown once): {key.plaintext}")


@integration.command("revoke-key")
@click.argument("integration_id")
@click.argument("key_id")
@json_option
@reports_errors
def revoke_key(integration_id: str, key_id: str, as_json: bool) -> None:
    """Revoke one SCIM API key of an integration."""
    with open_operations() as ops:
        ops.revoke_key(integration_id, key_id)
    if as_json:
        print_json({"id": integration_id, "key_id": key_id, "revoked": True})
    else:
        click.echo(f"API key {key_id} revoked")


@integration.command("test")
@click.argument("integration_id")
@json_option
@reports_errors
def test(integration_id: str, as_json: bool) -> None:
    """Test the connection to the downstream; exit 0 on success, 1 otherwise."""
    with open_operations() as ops:
        report = asyncio.run(ops.test_integration(integration_id))
    if as_json:
        print_json(report.to_dict())
    else:
        click.echo(report.message)
        click.echo(f"next: {report.hint}")
    sys.exit(0 if report.ok else 1)


integration.add_command(rules)
integration.add_command(refresh_capabilities)
