"""Entry point: the ``scimrelay`` command group and ``serve``."""

from __future__ import annotations

import click

from scimrelay import __version__
from scimrelay.cli.admin import admin, announce_setup
from scimrelay.cli.audit import audit
from scimrelay.cli.common import open_context, reports_errors
from scimrelay.cli.config import export_config, import_config
from scimrelay.cli.db import db
from scimrelay.cli.integrations import integration
from scimrelay.cli.keys import rotate_secret_key
from scimrelay.cli.logs import logs
from scimrelay.cli.resilience import limits, status
from scimrelay.cli.sources import source
from scimrelay.cli.sync import sync
from scimrelay.cli.tenants import tenant
from scimrelay.ops.metrics import prepare_multiprocess_metrics


@click.group()
@click.version_option(__version__, prog_name="scimrelay")
def main() -> None:
    """A SCIM 2.0 relay between identity providers and SCIM servers."""


@main.command()
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on."
)
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="TCP port to listen on.",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes.",
)
@reports_errors
def serve(host: str, port: int, workers: int) -> None:
    """Serve the SCIM endpoint for identity providers."""
    # Fails here, before the server starts, on bad settings or keys.
    with open_context() as context:
        announce_setup(context, host, port)

    import uvicorn  # Only `serve` needs it; other commands start faster.

    prepare_multiprocess_metrics(workers, context.settings.data_dir)
    uvicorn.run(
        "scimrelay.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=None,
        server_header=False,
        timeout_graceful_shutdown=30,
    )


main.add_command(tenant)
main.add_command(integration)
main.add_command(logs)
main.add_command(admin)
main.add_command(audit)
main.add_command(db)
main.add_command(export_config)
main.add_command(import_config)
main.add_command(source)
main.add_command(sync)
main.add_command(rotate_secret_key)
integration.add_command(limits)
integration.add_command(status)
