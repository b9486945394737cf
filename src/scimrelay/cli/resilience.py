"""``scimrelay integration limits|status``: budgets, timeouts and the breaker."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from scimrelay.cli.common import json_option, open_context, print_json, reports_errors
from scimrelay.resilience import status as states

LIMIT_OPTIONS = (
    ("--per-second", "per_second", float, "Requests per second; 0 for no limit."),
    ("--per-day", "per_day", int, "Requests per UTC day; 0 for no limit."),
    ("--connect-timeout", "connect_timeout", float, "Seconds to connect."),
    ("--read-timeout", "read_timeout", float, "Seconds to wait for each read."),
    (
        "--total-timeout",
        "total_timeout",
        float,
        "Seconds for a call, retries included.",
    ),
    ("--max-attempts", "max_attempts", int, "Sends of a call that may be retried."),
    ("--breaker-failures", "breaker_failures", int, "Failures in a row that open it."),
    ("--breaker-cooldown", "breaker_cooldown", float, "Seconds it stays open."),
)


def _limit_options(function: Any) -> Any:
    for flag, name, kind, text in reversed(LIMIT_OPTIONS):
        function = click.option(flag, name, type=kind, help=text)(function)
    return function


@click.command("limits")
@click.argument("integration_id")
@_limit_options
@click.option("--reset", is_flag=True, help="Restore the defaults first.")
@json_option
@reports_errors
def limits(integration_id: str, reset: bool, as_json: bool, **changes: Any) -> None:
    """Show or change an integration's rate limits, timeouts and breaker."""
    with open_context() as context:
        if reset or any(value is not None for value in changes.values()):
            policy = context.service.set_policy(integration_id, changes, reset=reset)
        else:
            policy = context.service.get_policy(integration_id)
    if as_json:
        print_json({"id": integration_id, **policy.to_dict()})
        return
    for name, value in policy.to_dict().items():
        shown = "default" if value is None else value
        click.echo(f"{name.replace('_', ' ') + ':':<18} {shown}")


@click.command("status")
@click.argument("integration_id")
@json_option
@reports_errors
def status(integration_id: str, as_json: bool) -> None:
    """Show the circuit breaker and today's request count of an integration."""
    with open_context() as context:
        policy = context.service.get_policy(integration_id)
        state = asyncio.run(states.describe(context.settings, integration_id, policy))
    if as_json:
        print_json({"id": integration_id, **state})
        return
    click.echo(f"breaker:          {state['breaker']}")
    click.echo(f"failures in a row: {state['consecutive_failures']}")
    if state["breaker_retry_in"]:
        click.echo(f"next call in:     {state['breaker_retry_in']} s")
    budget = state["per_day"] or "no limit"
    click.echo(f"requests today:   {state['requests_today']} of {budget}")
    click.echo(f"state kept in:    {state['backend']}")
