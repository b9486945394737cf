"""``scimrelay logs``: read the request log."""

from __future__ import annotations

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
from scimrelay.store.models import RequestLogEntry


@click.command()
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
@reports_errors
def logs(integration_id: str | None, limit: int, as_json: bool) -> None:
    """Show the newest request log entries, newest first."""
    query = select(RequestLogEntry).order_by(RequestLogEntry.id.desc()).limit(limit)
    if integration_id:
        query = query.where(RequestLogEntry.integration_id == integration_id)
    with open_context() as context, context.store.session() as session:
        entries = [entry.to_dict() for entry in session.scalars(query)]
    if as_json:
        print_json(entries)
        return
    rows = [_row(entry) for entry in entries]
    print_table(rows, ["TIME", "METHOD", "STATUS", "DOWNSTREAM", "MS", "PATH"])


def _row(entry: dict[str, Any]) -> list[str]:
    target = entry["path"] + (f"?{entry['query']}" if entry["query"] else "")
    return [
        entry["time"][:19],
        entry["method"],
        str(entry["status"]),
        str(entry["downstream_status"] or "-"),
        f"{entry['duration_ms']:.1f}",
        target,
    ]
