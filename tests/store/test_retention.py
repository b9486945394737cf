"""Request log retention and partition upkeep on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import insert, select, text

from scimrelay.context import AppContext
from scimrelay.ops import partitions
from scimrelay.ops.retention import MAINTENANCE_LOCK_ID, delete_older_than, maintain
from scimrelay.settings import Secret, Settings
from scimrelay.store.database import Store
from scimrelay.store.models import RequestLogEntry
from tests.store.conftest import POSTGRES_ONLY

NOW = datetime.now(UTC)


@pytest.fixture
def store(database_url: str, tmp_path: Path) -> Iterator[Store]:
    """A migrated store of its own, since these tests drop partitions."""
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        secret_key=Secret(Fernet.generate_key().decode()),
    )
    context = AppContext.open(settings)
    yield context.store
    context.close()


def add_entries(store: Store, *times: datetime) -> None:
    rows = [
        {
            "time": at,
            "request_id": f"request-{index}",
            "method": "GET",
            "path": "/scim/v2/x/Users",
            "query": "",
            "status": 200,
            "duration_ms": 1.0,
        }
        for index, at in enumerate(times)
    ]
    with store.session() as session:
        session.execute(insert(RequestLogEntry), rows)


def entry_times(store: Store) -> list[datetime]:
    with store.session() as session:
        times = session.scalars(select(RequestLogEntry.time).order_by("time"))
        return [at.astimezone(UTC) for at in times]


def test_entries_past_retention_are_removed(store: Store) -> None:
    kept = [NOW - timedelta(days=29), NOW]
    add_entries(store, NOW - timedelta(days=40), NOW - timedelta(days=31), *kept)

    report = maintain(store, retention_days=30, now=NOW)

    assert not report.skipped
    assert report.deleted_rows == 2
    assert entry_times(store) == kept


def test_zero_retention_keeps_every_entry(store: Store) -> None:
    old = NOW - timedelta(days=4000)
    add_entries(store, old, NOW)

    report = maintain(store, retention_days=0, now=NOW)

    assert report.deleted_rows == 0
    assert report.dropped_partitions == []
    assert len(entry_times(store)) == 2


def test_old_entries_are_deleted_in_batches(store: Store) -> None:
    old = NOW - timedelta(days=60)
    add_entries(store, *([old] * 250), NOW)

    with store.engine.connect() as connection:
        deleted = delete_older_than(
            connection, NOW - timedelta(days=30), batch_size=100
        )

    assert deleted == 250
    assert len(entry_times(store)) == 1


def test_expired_day_partitions_are_dropped(store: Store, backend: str) -> None:
    add_entries(store, NOW - timedelta(days=1), NOW)
    later = NOW + timedelta(days=40)

    report = maintain(store, retention_days=30, now=later)

    assert entry_times(store) == []
    if backend == "sqlite":
        assert report.dropped_partitions == []
        assert report.deleted_rows == 2
        return

    today = NOW.date()
    assert f"request_log_before_{today:%Y%m%d}" in report.dropped_partitions
    assert partitions.day_partition_name(today) in report.dropped_partitions
    assert report.deleted_rows == 0


def test_partitions_are_created_ahead(store: Store, backend: str) -> None:
    later = NOW + timedelta(days=3)

    report = maintain(store, retention_days=30, now=later)

    if backend == "sqlite":
        assert report.created_partitions == []
        return

    last = NOW.date() + timedelta(days=partitions.DAYS_AHEAD)
    assert report.created_partitions == [
        partitions.day_partition_name(last + timedelta(days=offset))
        for offset in (1, 2, 3)
    ]
    add_entries(store, later + timedelta(days=partitions.DAYS_AHEAD))
    assert len(entry_times(store)) == 1


@POSTGRES_ONLY
def test_entry_is_stored_in_its_day_partition(store: Store) -> None:
    add_entries(store, NOW)

    with store.engine.connect() as connection:
        table = connection.scalar(
            text("SELECT tableoid::regclass::text FROM request_log")
        )

    assert table == partitions.day_partition_name(NOW.date())


@POSTGRES_ONLY
def test_maintenance_skips_while_another_holds_lock(store: Store) -> None:
    add_entries(store, NOW - timedelta(days=60))
    with store.engine.connect() as other:
        other.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MAINTENANCE_LOCK_ID})
        report = maintain(store, retention_days=30, now=NOW)

    assert report.skipped
    assert report.deleted_rows == 0
    assert len(entry_times(store)) == 1
