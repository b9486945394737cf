"""``scimrelay logs``: read the request log."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click
from sqlalchemy import select

from scimrelay.cli.common import (
    json_option,
    open_context,
    print_json,
    print_table,
    reports_errors,
)
from scimrelay.logconfig import configure_logging
from scimrelay.store.models import RequestLogEntry


@click.group(invoke_without_command=True)
@click.option(
    "--integration", "integration_id", help="Only this integration's requests."
)
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Number of entries.",
)
@json_option
@click.pass_context
@reports_errors
def logs(
    click_context: click.Context,
    integration_id: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Show the newest request log entries, newest first."""
    if click_context.invoked_subcommand is not None:
        return
    query = select(RequestLogEntry).order_by(RequestLogEntry.id.desc()).limit(limit)
    if integration_id:
        query = query.where(RequestLogEntry.integration_id == integration_id)
    with open_context() as context, context.store.session() as session:
        entries = [entry.to_dict() for entry in session.scalars(query)]
    if as_json:
        print_json(entries)
        return
    rows = [_row(entry) for entry in entries]
    headings = ["ID", "TIME", "METHOD", "STATUS", "DOWNSTREAM", "MS", "PATH", "SOURCE"]
    print_table(rows, headings)


def _row(entry: dict[str, Any]) -> list[str]:
    target = entry["path"] + (f"?{entry['query']}" if entry["query"] else "")
    return [
        str(entry["id"]),
        entry["time"][:19],
        entry["method"],
        str(entry["status"]),
        str(entry["downstream_status"] or "-"),
        f"{entry['duration_ms']:.1f}",
        target,
        entry.get("source") or "-",
    ]


@logs.command("replay")
@click.argument("entry_id", type=int)
@click.option("--force", is_flag=True, help="Replay a request that succeeded.")
@json_option
@reports_errors
def replay_command(entry_id: int, force: bool, as_json: bool) -> None:
    """Send a logged request downstream again, linked to the original entry."""
    with open_context() as context:
        configure_logging(context.settings)  # Log lines go to stderr, not stdout.
        # Imported here: the relay's request path is slow to import and
        # only this command needs it.
        from scimrelay.requestlog.replay import replay

        result = asyncio.run(replay(context, entry_id, force=force))
    if as_json:
        print_json(result.to_dict())
        return
    click.echo(
        f"log entry {result.entry_id} replays {result.original_id}: "
        f"status {result.status}" + (f" ({result.error})" if result.error else "")
    )
    sys.exit(0 if result.status < 400 else 1)
