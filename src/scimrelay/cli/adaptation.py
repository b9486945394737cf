"""CLI options and commands for provider profiles and downstream capabilities."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click
import structlog

from scimrelay.adapt.catalog import RULES
from scimrelay.adapt.profiles import PROFILES
from scimrelay.cli.common import json_option, open_context, print_json, reports_errors
from scimrelay.integrations.service import IntegrationInput
from scimrelay.settings import Settings

if TYPE_CHECKING:
    from scimrelay.adapt.capabilities import Capabilities

F = TypeVar("F", bound=Callable[..., Any])
ADAPTATION_OPTIONS = ("list_404_empty", "max_members_per_patch", "max_filter_scan")
PROFILE_OPTIONS = (
    "profile",
    "disabled_rules",
    "clear_disabled_rules",
    "provider_auth",
    *ADAPTATION_OPTIONS,
)


def profile_options(function: F) -> F:
    """Add the profile, rule and adaptation options of create and update."""
    options = [
        click.option(
            "--profile",
            type=click.Choice(list(PROFILES)),
            help="Identity provider profile (default generic: no rewriting).",
        ),
        click.option(
            "--disable-rule",
            "disabled_rules",
            multiple=True,
            metavar="RULE",
            help="Switch one rule of the profile off; repeatable.",
        ),
        click.option(
            "--clear-disabled-rules",
            is_flag=True,
            help="Switch every rule of the profile back on.",
        ),
        click.option(
            "--provider-auth",
            type=click.Choice(["bearer", "basic"]),
            help="Accept HTTP Basic (API key as password) besides Bearer.",
        ),
        click.option(
            "--list-404-empty/--no-list-404-empty",
            default=None,
            help="Answer a downstream 404 on a list query as an empty list.",
        ),
        click.option(
            "--max-members-per-patch",
            type=click.IntRange(1, 100_000),
            help="Split membership changes above this many members.",
        ),
        click.option(
            "--max-filter-scan",
            type=click.IntRange(1, 100_000),
            help="Most resources scanned when the relay filters itself.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def apply_profile_options(data: IntegrationInput, values: dict[str, Any]) -> None:
    """Copy the given profile options into an IntegrationInput."""
    data.profile = values.pop("profile", None)
    rules = list(values.pop("disabled_rules", ()) or ())
    clear = values.pop("clear_disabled_rules", False)
    data.disabled_rules = [] if clear else (rules or None)
    data.provider_auth = values.pop("provider_auth", None)
    adaptation = {
        name: values.pop(name)
        for name in ADAPTATION_OPTIONS
        if values.get(name) is not None
    }
    for name in ADAPTATION_OPTIONS:
        values.pop(name, None)
    data.adaptation = adaptation or None


@click.command("rules")
@json_option
def rules(as_json: bool) -> None:
    """List the rewrite rules and the profiles that apply them."""
    listed = [
        {
            "name": rule.name,
            "does": rule.does,
            "because": rule.because,
            "profiles": [
                name for name, names in PROFILES.items() if rule.name in names
            ],
        }
        for rule in RULES
    ]
    if as_json:
        print_json(listed)
        return
    for item in listed:
        click.echo(f"{item['name']} ({', '.join(item['profiles']) or 'no profile'})")
        click.echo(f"  {item['does']}")


@click.command("refresh-capabilities")
@click.argument("integration_id")
@json_option
@reports_errors
def refresh_capabilities(integration_id: str, as_json: bool) -> None:
    """Read the downstream's discovery endpoints now and keep the result."""
    from scimrelay.relay.directory import USER_AGENT

    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    with open_context() as context:
        view = context.service.get_integration(integration_id)
        token, headers = context.service.read_secrets(integration_id)
        outbound = {header.name: header.value for header in headers}
        outbound.update(Authorization=f"Bearer {token}", **{"User-Agent": USER_AGENT})
        found = asyncio.run(_fetch(view.scim_url, outbound, context.settings))
        context.service.store_capabilities(integration_id, found.to_dict())
    summary = _summary(found)
    if as_json:
        print_json({"id": integration_id, **summary})
        return
    for name, value in summary.items():
        click.echo(f"{name}: {value}")


async def _fetch(
    scim_url: str, headers: dict[str, str], settings: Settings
) -> Capabilities:
    # Imported here: the SCIM parser behind it slows every other command.
    from scimrelay.adapt.capabilities import fetch_capabilities
    from scimrelay.relay.client import DownstreamClient

    client = DownstreamClient(
        settings.downstream_timeout,
        allow_private=settings.allow_private_downstreams,
        max_response_bytes=settings.max_response_bytes,
    )
    await client.start()
    try:
        return await fetch_capabilities(client, scim_url, headers)
    finally:
        await client.close()


def _summary(found: Capabilities) -> dict[str, Any]:
    names = (
        "has_config",
        "has_schemas",
        "has_resource_types",
        "patch",
        "bulk",
        "filter",
        "max_results",
        "etag",
        "cursor",
        "index",
    )
    summary = {name: getattr(found, name) for name in names}
    summary["schemas"] = sorted(found.schemas.urns) if found.has_schemas else []
    return summary
