"""``scimrelay logs``: read the request log."""

from __future__ import annotations

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
    rows = [
        [
            e["time"][:19],
            e["method"],
            str(e["status"]),
            str(e["downstream_status"] or "-"),
            f"{e['duration_ms']:.1f}",
            e["path"] + (f"?{e['query']}" if e["query"] else ""),
            e.get("source") or "-",
        ]
        for e in entries
    ]
    print_table(
        rows, ["TIME", "METHOD", "STATUS", "DOWNSTREAM", "MS", "PATH", "SOURCE"]
    )
