"""``scimrelay sync``: run, preview and inspect directory syncs."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import click

from scimrelay.cli.common import (
    json_option,
    open_context,
    print_json,
    print_table,
    reports_errors,
)
from scimrelay.context import AppContext
from scimrelay.errors import NotFoundError
from scimrelay.logconfig import configure_logging
from scimrelay.relay.client import DownstreamClient
from scimrelay.relay.directory import Directory, RuntimeIntegration
from scimrelay.relay.schemas import SchemaCache
from scimrelay.requestlog.recorder import RequestRecorder
from scimrelay.resilience.guard import Resilience, open_backend
from scimrelay.scim.endpoint import ScimEndpoint
from scimrelay.sync.config import SyncSettings
from scimrelay.sync.engine import SyncDeps, SyncEngine
from scimrelay.sync.runs import SUCCEEDED, RunReport
from scimrelay.sync.service import SourceService

T = TypeVar("T")


@click.group()
def sync() -> None:
    """Run, preview and inspect the directory sync of an integration."""


@sync.command("run")
@click.argument("integration_id")
@json_option
@reports_errors
def run(integration_id: str, as_json: bool) -> None:
    """Sync now; exit 0 if every change was made, 1 otherwise."""
    report = _with_engine(
        integration_id, lambda engine, item: engine.run(item, "manual")
    )
    if as_json:
        print_json(report.to_dict())
    else:
        _print_report(report)
    sys.exit(0 if report.status == SUCCEEDED else 1)


@sync.command("preview")
@click.argument("integration_id")
@json_option
@reports_errors
def preview(integration_id: str, as_json: bool) -> None:
    """List every change a run would make now, without making any."""
    plan = _with_engine(integration_id, lambda engine, item: engine.preview(item))
    if as_json:
        print_json(plan.to_dict())
        return
    for line in plan.describe():
        click.echo(line)
    counts = plan.counts()
    click.echo(f"users: {_counts(counts)}")
    click.echo(f"groups: {_counts(counts['groups'])}")


@sync.command("status")
@click.argument("integration_id")
@click.option(
    "--limit",
    default=5,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="Number of runs to show.",
)
@json_option
@reports_errors
def status(integration_id: str, limit: int, as_json: bool) -> None:
    """Show the newest runs: status, counts, duration and errors."""
    with open_context() as context:
        reports = SourceService(context.store, context.keyring).runs(
            integration_id, limit
        )
    if as_json:
        print_json(
            {"integration_id": integration_id, "runs": [r.to_dict() for r in reports]}
        )
        return
    if not reports:
        click.echo(f"integration {integration_id} has not been synced yet")
        return
    _print_report(reports[0])
    rows = [
        [r.started_at.isoformat()[:19], r.trigger, r.status, _counts(r.to_dict())]
        for r in reports[1:]
    ]
    if rows:
        click.echo()
        print_table(rows, ["STARTED", "TRIGGER", "STATUS", "USERS"])


def _with_engine(
    integration_id: str,
    action: Callable[[SyncEngine, RuntimeIntegration], Awaitable[T]],
) -> T:
    """Open the store and the downstream pipeline, and run ``action`` with them."""
    with open_context() as context:
        _configure_logging(context)
        directory = Directory(context.service)
        directory.refresh_if_changed()
        integration = directory.get(integration_id)
        if integration is None:
            raise NotFoundError(
                f"integration {integration_id} not found: list integrations with "
                "`scimrelay integration list`"
            )

        async def main() -> T:
            async with _engine(context) as engine:
                return await action(engine, integration)

        return asyncio.run(main())


@asynccontextmanager
async def _engine(context: AppContext) -> AsyncIterator[SyncEngine]:
    """Build the downstream pipeline of a relay process, for one CLI run."""
    settings = context.settings
    client = DownstreamClient(
        settings.downstream_timeout,
        allow_private=settings.allow_private_downstreams,
        max_response_bytes=settings.max_response_bytes,
    )
    resilience = Resilience(client, open_backend(settings), settings.downstream_timeout)
    recorder = RequestRecorder(context.store, settings.data_dir / "spool")
    endpoint = ScimEndpoint(
        settings,
        Directory(context.service),
        client,
        SchemaCache(client),
        recorder,
        resilience,
    )
    deps = SyncDeps(context.store, context.keyring, endpoint, SyncSettings.from_env())
    recorder.start()
    await client.start()
    try:
        yield SyncEngine(deps)
    finally:
        await client.close()
        await resilience.close()
        recorder.stop()


def _configure_logging(context: AppContext) -> None:
    """Log warnings to stderr, or the level that SCIMRELAY_LOG_LEVEL sets."""
    settings = context.settings
    if "SCIMRELAY_LOG_LEVEL" not in os.environ:
        settings = dataclasses.replace(settings, log_level="WARNING")
    configure_logging(settings)


def _print_report(report: RunReport) -> None:
    data = report.to_dict()
    seconds = (report.duration_ms or 0) / 1000
    click.echo(
        f"run {report.id} ({report.trigger}): {report.status} in {seconds:.1f} s"
    )
    click.echo(f"users: {_counts(data)}")
    click.echo(f"groups: {_counts(data['groups'])}")
    if report.detail:
        click.echo(f"detail: {report.detail}")
    for error in report.errors:
        click.echo(f"error: {error['object']}: {error['detail']}")


def _counts(counts: dict[str, object]) -> str:
    names = (
        "created",
        "updated",
        "deactivated",
        "deleted",
        "failed",
        "unchanged",
        "members_added",
        "members_removed",
    )
    return ", ".join(
        f"{counts[name]} {name.replace('_', ' ')}" for name in names if name in counts
    )
