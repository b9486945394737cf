"""Daily range partitions of the request log on PostgreSQL.

On PostgreSQL the ``request_log`` table is partitioned by range of ``time``:
one partition per UTC day, named ``request_log_pYYYYMMDD``, plus one named
``request_log_before_YYYYMMDD`` that contains every row older than the day the
layout was created. Removing a day of old entries is then a ``DROP TABLE`` of
its partition, which frees the space at once and leaves no dead rows to vacuum.

Partitions are created ``DAYS_AHEAD`` days in advance by the migration, by
``scimrelay db maintain`` and by every relay once an hour, so an insert always
finds its partition. SQLite keeps one plain table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Connection, text

PARENT_TABLE = "request_log"
DAYS_AHEAD = 7
DAY_PARTITION = re.compile(r"request_log_p(\d{8})")
BEFORE_PARTITION = re.compile(r"request_log_before_(\d{8})")


@dataclass(frozen=True, order=True)
class Partition:
    """A partition of the request log and the exclusive upper bound of its range."""

    upper: datetime
    name: str


def is_partition_name(name: str) -> bool:
    """Return whether a table name is one of the request log's partitions."""
    return bool(DAY_PARTITION.fullmatch(name) or BEFORE_PARTITION.fullmatch(name))


def include_name(name: str | None, kind: str, _parents: object) -> bool:
    """Leave the partitions out of Alembic's comparison with the models."""
    return not (kind == "table" and name is not None and is_partition_name(name))


def day_partition_name(day: date) -> str:
    return f"{PARENT_TABLE}_p{day:%Y%m%d}"


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def parse_partition(name: str) -> Partition | None:
    """Return the partition a table name describes, or None for other tables."""
    if match := DAY_PARTITION.fullmatch(name):
        day = datetime.strptime(match.group(1), "%Y%m%d").date()
        return Partition(start_of_day(day + timedelta(days=1)), name)
    if match := BEFORE_PARTITION.fullmatch(name):
        day = datetime.strptime(match.group(1), "%Y%m%d").date()
        return Partition(start_of_day(day), name)
    return None


def is_partitioned(connection: Connection) -> bool:
    """Return whether the request log is a partitioned table on this connection."""
    if connection.dialect.name != "postgresql":
        return False

    kind = connection.scalar(
        text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:table)"),
        {"table": PARENT_TABLE},
    )
    return bool(kind == "p")


def list_partitions(connection: Connection) -> list[Partition]:
    """Return the request log's partitions, oldest first; none on SQLite."""
    if connection.dialect.name != "postgresql":
        return []

    names = connection.scalars(
        text(
            "SELECT child.relname FROM pg_inherits "
            "JOIN pg_class AS child ON child.oid = pg_inherits.inhrelid "
            "WHERE pg_inherits.inhparent = to_regclass(:table)"
        ),
        {"table": PARENT_TABLE},
    )
    partitions = [parse_partition(name) for name in names]
    return sorted(partition for partition in partitions if partition is not None)


def create_ahead(
    connection: Connection, today: date, days_ahead: int = DAYS_AHEAD
) -> list[str]:
    """Create the partitions of ``today`` and the next days that do not exist yet."""
    existing = list_partitions(connection)
    names = {partition.name for partition in existing}
    # Days inside the catch-all partition of old rows cannot get their own.
    first_free = max(
        (p.upper for p in existing if BEFORE_PARTITION.fullmatch(p.name)),
        default=None,
    )
    created = []
    for offset in range(days_ahead + 1):
        day = today + timedelta(days=offset)
        name = day_partition_name(day)
        if name in names or (first_free and start_of_day(day) < first_free):
            continue

        create_day_partition(connection, day)
        created.append(name)

    return created


def create_day_partition(connection: Connection, day: date) -> None:
    lower = start_of_day(day)
    upper = start_of_day(day + timedelta(days=1))
    connection.execute(
        text(
            f'CREATE TABLE IF NOT EXISTS "{day_partition_name(day)}" '
            f'PARTITION OF "{PARENT_TABLE}" '
            f"FOR VALUES FROM ('{lower.isoformat()}') TO ('{upper.isoformat()}')"
        )
    )


def drop_ended_before(connection: Connection, cutoff: datetime) -> list[str]:
    """Drop every partition whose rows are all older than ``cutoff``."""
    dropped = []
    for partition in list_partitions(connection):
        if partition.upper <= cutoff:
            connection.execute(text(f'DROP TABLE "{partition.name}"'))
            dropped.append(partition.name)

    return dropped
