"""``scimrelay audit``: who changed what, from the console, the API or this command."""

from __future__ import annotations

import click

from scimrelay.cli.common import (
    json_option,
    open_operations,
    print_json,
    print_table,
    reports_errors,
)


@click.command("audit")
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="How many events to show, newest first.",
)
@json_option
@reports_errors
def audit(limit: int, as_json: bool) -> None:
    """Show the audit trail of changes, newest first."""
    with open_operations() as ops:
        events, _total = ops.audit_events(limit, 0)
    if as_json:
        print_json([event.to_dict() for event in events])
        return
    rows = [
        [
            f"{event.time:%Y-%m-%d %H:%M:%S}",
            event.actor_email,
            event.via,
            event.action,
            event.target_name or event.target_id or "-",
        ]
        for event in events
    ]
    print_table(rows, ["TIME", "ACTOR", "VIA", "ACTION", "TARGET"])
