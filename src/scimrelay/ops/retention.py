"""Time-based retention of the request log and upkeep of its partitions.

Entries older than ``SCIMRELAY_LOG_RETENTION_DAYS`` are removed. On
PostgreSQL whole day partitions past the cutoff are dropped first, so only the
partition that straddles the cutoff is trimmed row by row. On SQLite rows are
deleted in batches of ``DELETE_BATCH``, each in its own short transaction, so
request log writers are never locked out for long.

Every relay runs :func:`maintain` about once an hour; on PostgreSQL an advisory
lock lets one instance at a time do the work.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import Connection, delete, select, text

from scimrelay.ops import partitions
from scimrelay.store.database import Store
from scimrelay.store.models import RequestLogEntry

logger = structlog.get_logger(__name__)

DELETE_BATCH = 5000
# Any fixed 64-bit number works; it only has to differ from other lock users.
MAINTENANCE_LOCK_ID = 0x5C1A7E1A


@dataclass
class MaintenanceReport:
    """The changes made by one maintenance run."""

    created_partitions: list[str] = field(default_factory=list)
    dropped_partitions: list[str] = field(default_factory=list)
    deleted_rows: int = 0
    skipped: bool = False

    @property
    def changed(self) -> bool:
        return bool(
            self.created_partitions or self.dropped_partitions or self.deleted_rows
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "created_partitions": self.created_partitions,
            "dropped_partitions": self.dropped_partitions,
            "deleted_rows": self.deleted_rows,
            "skipped": self.skipped,
        }


def maintain(
    store: Store,
    retention_days: int,
    *,
    now: datetime | None = None,
    stopping: threading.Event | None = None,
) -> MaintenanceReport:
    """Create partitions ahead and remove entries older than the retention period.

    A ``retention_days`` of 0 keeps every entry. The run is skipped when
    another process holds the maintenance lock.
    """
    now = now or datetime.now(UTC)
    report = MaintenanceReport()
    with store.engine.connect() as connection, _maintenance_lock(connection) as locked:
        if not locked:
            report.skipped = True
            return report

        if partitions.is_partitioned(connection):
            report.created_partitions = partitions.create_ahead(connection, now.date())
            connection.commit()
        if retention_days > 0:
            cutoff = now - timedelta(days=retention_days)
            _remove_before(connection, cutoff, report, stopping)

    return report


def _remove_before(
    connection: Connection,
    cutoff: datetime,
    report: MaintenanceReport,
    stopping: threading.Event | None,
) -> None:
    if partitions.is_partitioned(connection):
        report.dropped_partitions = partitions.drop_ended_before(connection, cutoff)
        connection.commit()
    report.deleted_rows = delete_older_than(connection, cutoff, stopping)


def delete_older_than(
    connection: Connection,
    cutoff: datetime,
    stopping: threading.Event | None = None,
    batch_size: int = DELETE_BATCH,
) -> int:
    """Delete entries older than ``cutoff`` in batches; return how many."""
    oldest = (
        select(RequestLogEntry.id)
        .where(RequestLogEntry.time < cutoff)
        .limit(batch_size)
        .scalar_subquery()
    )
    statement = delete(RequestLogEntry).where(
        RequestLogEntry.time < cutoff, RequestLogEntry.id.in_(oldest)
    )
    deleted = 0
    while stopping is None or not stopping.is_set():
        count = connection.execute(statement).rowcount
        connection.commit()
        deleted += count
        if count < batch_size:
            break

    return deleted


@contextmanager
def _maintenance_lock(connection: Connection) -> Iterator[bool]:
    """Hold PostgreSQL's session advisory lock for maintenance, if free."""
    if connection.dialect.name != "postgresql":
        yield True
        return

    locked = bool(
        connection.scalar(
            text("SELECT pg_try_advisory_lock(:id)"), {"id": MAINTENANCE_LOCK_ID}
        )
    )
    connection.commit()
    try:
        yield locked
    finally:
        if locked:
            connection.execute(
                text("SELECT pg_advisory_unlock(:id)"), {"id": MAINTENANCE_LOCK_ID}
            )
            connection.commit()
