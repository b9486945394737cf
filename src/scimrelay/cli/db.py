"""``scimrelay db``: migrate the store and run request log maintenance.

None of these commands reads the master key, so a migration job needs only
``SCIMRELAY_DATABASE_URL``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import OperationalError

from scimrelay.cli.common import json_option, print_json, reports_errors
from scimrelay.errors import ConfigurationError
from scimrelay.ops.retention import maintain
from scimrelay.settings import Settings
from scimrelay.store.database import Store, alembic_config, upgrade


@click.group()
def db() -> None:
    """Migrate the store and maintain the request log."""


@contextmanager
def open_store() -> Iterator[tuple[Settings, Store]]:
    settings = Settings.from_env()
    store = Store.open(settings, migrate=False)
    try:
        yield settings, store
    except OperationalError as error:
        raise ConfigurationError(
            f"the store cannot be reached: {error.orig}; check "
            "SCIMRELAY_DATABASE_URL and that the database server is running"
        ) from None
    finally:
        store.dispose()


def revisions(store: Store) -> tuple[list[str], list[str]]:
    """Return the applied and the expected migration heads, sorted."""
    script = ScriptDirectory.from_config(alembic_config(store.engine))
    with store.engine.connect() as connection:
        applied = MigrationContext.configure(connection).get_current_heads()
    return sorted(applied), sorted(script.get_heads())


@db.command("upgrade")
@json_option
@reports_errors
def upgrade_command(as_json: bool) -> None:
    """Apply every pending migration and create request log partitions ahead."""
    with open_store() as (_settings, store):
        upgrade(store.engine)
        report = maintain(store, retention_days=0)
        applied, _heads = revisions(store)
    if as_json:
        print_json({"revisions": applied, **report.to_dict()})
    else:
        click.echo(f"database at revision {', '.join(applied)}")


@db.command("status")
@json_option
@reports_errors
def status_command(as_json: bool) -> None:
    """Show the applied migrations; exit 1 if some are pending."""
    with open_store() as (_settings, store):
        applied, heads = revisions(store)
    current = applied == heads
    if as_json:
        print_json({"applied": applied, "expected": heads, "current": current})
    else:
        click.echo(f"applied: {', '.join(applied) or 'none'}")
        click.echo(f"expected: {', '.join(heads)}")
        if not current:
            click.echo("next: run `scimrelay db upgrade`")
    sys.exit(0 if current else 1)


@db.command("maintain")
@json_option
@reports_errors
def maintain_command(as_json: bool) -> None:
    """Create request log partitions ahead and apply the retention period."""
    with open_store() as (settings, store):
        report = maintain(store, settings.log_retention_days)
    if as_json:
        print_json(report.to_dict())
        return
    if report.skipped:
        click.echo("skipped: another process is maintaining the request log")
        return
    click.echo(f"partitions created: {len(report.created_partitions)}")
    click.echo(f"partitions dropped: {len(report.dropped_partitions)}")
    click.echo(f"entries deleted: {report.deleted_rows}")
