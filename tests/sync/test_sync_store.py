"""The sync tables on SQLite and PostgreSQL: the migration and the lease."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from scimrelay.context import AppContext
from scimrelay.errors import SyncBusy
from scimrelay.integrations.service import IntegrationInput
from scimrelay.settings import Settings
from scimrelay.store.database import Store, alembic_config
from scimrelay.store.models import Base
from scimrelay.sync import locks
from tests.sync.conftest import postgres_settings

SYNC_TABLES = {"google_sources", "sync_leases", "sync_runs", "sync_links"}
RACERS = 8


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    if request.param == "sqlite":
        yield Settings(data_dir=tmp_path / "data")
    else:
        with postgres_settings(tmp_path) as found:
            yield found


@pytest.fixture
def context(settings: Settings) -> Iterator[AppContext]:
    opened = AppContext.open(settings)
    yield opened
    opened.close()


@pytest.fixture
def integration_id(context: AppContext) -> str:
    tenant = context.service.create_tenant("Acme")
    data = IntegrationInput(
        name="App", scim_url="https://app.example.com/scim/v2", token="t0ken-x"
    )
    return context.service.create_integration(tenant.id, data).integration.id


def test_migration_matches_the_models(context: AppContext) -> None:
    with context.store.engine.connect() as connection:
        migration = MigrationContext.configure(connection)
        differences = compare_metadata(migration, Base.metadata)
        columns = {c["name"] for c in inspect(connection).get_columns("request_log")}

    assert set(inspect(context.store.engine).get_table_names()) >= SYNC_TABLES
    assert [d for d in differences if _touches_sync(d)] == []
    assert "source" in columns


def _touches_sync(difference: Any) -> bool:
    """Return whether an autogenerate difference is about the sync's schema."""
    if isinstance(difference, list):
        return any(_touches_sync(item) for item in difference)
    kind = difference[0]
    if kind in ("add_table", "remove_table"):
        return difference[1].name in SYNC_TABLES
    if kind in ("add_index", "remove_index"):
        return difference[1].table.name in SYNC_TABLES
    if kind in ("add_column", "remove_column"):
        table, column = difference[2], difference[3].name
    elif kind.startswith("modify_"):
        table, column = difference[2], difference[3]
    else:
        return any(f"'{table}'" in repr(difference) for table in SYNC_TABLES)
    return table in SYNC_TABLES or (table, column) == ("request_log", "source")


def test_migration_downgrade_and_upgrade(context: AppContext) -> None:
    config = alembic_config(context.store.engine)
    command.downgrade(config, "0006_google_sync-1")
    after_downgrade = set(inspect(context.store.engine).get_table_names())
    command.upgrade(config, "heads")

    assert not SYNC_TABLES & after_downgrade
    assert set(inspect(context.store.engine).get_table_names()) >= SYNC_TABLES


def test_lease_admits_one_holder(context: AppContext, integration_id: str) -> None:
    lease = locks.acquire(context.store, integration_id, 60)
    with pytest.raises(SyncBusy) as busy:
        locks.acquire(context.store, integration_id, 60)
    locks.release(context.store, lease)
    again = locks.acquire(context.store, integration_id, 60)

    assert lease.owner in str(busy.value)
    assert again.owner != lease.owner


def test_expired_lease_taken_over(context: AppContext, integration_id: str) -> None:
    expired = locks.acquire(context.store, integration_id, -1)
    taker = locks.acquire(context.store, integration_id, 60)

    assert not locks.renew(context.store, expired)
    assert locks.renew(context.store, taker)
    locks.release(context.store, expired)
    with pytest.raises(SyncBusy):
        locks.acquire(context.store, integration_id, 60)


def test_racing_instances_get_one_lease(
    context: AppContext, integration_id: str
) -> None:
    stores = [Store.open(context.settings, migrate=False) for _ in range(RACERS)]
    start = threading.Barrier(RACERS)
    winners: list[locks.Lease] = []
    rejected: list[SyncBusy] = []

    def race(store: Store) -> None:
        start.wait()
        try:
            winners.append(locks.acquire(store, integration_id, 60))
        except SyncBusy as error:
            rejected.append(error)

    threads = [threading.Thread(target=race, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.dispose()

    assert (len(winners), len(rejected)) == (1, RACERS - 1)
