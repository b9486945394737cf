"""partition the request log by day on PostgreSQL and index its filters

Revision ID: 0005_operations
Revises: 0001
Create Date: 2026-12-05 10:00:00.000000

On PostgreSQL the request log becomes a table partitioned by range of
``time``: every existing row moves to ``request_log_before_YYYYMMDD``, which
covers everything before the day of the upgrade, and day partitions are
created for the next week (the relay keeps creating them ahead). The id
sequence is kept, so ids continue where they were. SQLite keeps one table.
Both get indexes for the request log's status filters.
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0005_operations"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DAYS_AHEAD = 7
SEQUENCE = "request_log_id_seq"
FILTER_INDEXES = {
    "ix_request_log_status_time": ["status", "time"],
    "ix_request_log_integration_status_time": ["integration_id", "status", "time"],
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _partition_request_log()
        return

    for name, columns in FILTER_INDEXES.items():
        op.create_index(name, "request_log", columns)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _unpartition_request_log()
        return

    for name in FILTER_INDEXES:
        op.drop_index(name, table_name="request_log")


def _partition_request_log() -> None:
    indexes = _indexes()
    _set_aside("request_log_unpartitioned", indexes)
    _create_like("request_log_unpartitioned", "RANGE (time)", ("id", "time"))
    for name, columns in {**indexes, **FILTER_INDEXES}.items():
        op.create_index(name, "request_log", columns)
    today = datetime.now(UTC).date()
    _create_partition(
        f"request_log_before_{today:%Y%m%d}", "MINVALUE", _quoted(_midnight(today))
    )
    for offset in range(DAYS_AHEAD + 1):
        day = today + timedelta(days=offset)
        _create_partition(
            f"request_log_p{day:%Y%m%d}",
            _quoted(_midnight(day)),
            _quoted(_midnight(day + timedelta(days=1))),
        )
    _move_rows("request_log_unpartitioned")


def _unpartition_request_log() -> None:
    indexes = _indexes()
    _set_aside("request_log_partitioned", indexes)
    _create_like("request_log_partitioned", None, ("id",))
    for name, columns in indexes.items():
        if name not in FILTER_INDEXES:
            op.create_index(name, "request_log", columns)
    _move_rows("request_log_partitioned")


def _indexes() -> dict[str, list[str]]:
    """Return the request log's indexes, including those of other migrations."""
    found = sa.inspect(op.get_bind()).get_indexes("request_log")
    return {
        str(index["name"]): [str(column) for column in index["column_names"]]
        for index in found
    }


def _set_aside(new_name: str, indexes: dict[str, list[str]]) -> None:
    """Rename the request log and free its index, key and sequence names."""
    op.execute(f"ALTER SEQUENCE {SEQUENCE} OWNED BY NONE")
    for name in indexes:
        op.drop_index(name, table_name="request_log")
    op.rename_table("request_log", new_name)
    op.execute(
        f"ALTER TABLE {new_name} RENAME CONSTRAINT request_log_pkey TO {new_name}_pkey"
    )


def _create_like(source: str, partition_by: str | None, key: tuple[str, ...]) -> None:
    """Create ``request_log`` with the columns and defaults of ``source``.

    Copying the columns keeps any that other migrations added to the log.
    """
    partitioning = f" PARTITION BY {partition_by}" if partition_by else ""
    op.execute(
        f"CREATE TABLE request_log (LIKE {source} INCLUDING DEFAULTS){partitioning}"
    )
    op.execute(
        "ALTER TABLE request_log ADD CONSTRAINT request_log_pkey "
        f"PRIMARY KEY ({', '.join(key)})"
    )
    op.execute(f"ALTER SEQUENCE {SEQUENCE} OWNED BY request_log.id")


def _move_rows(source: str) -> None:
    op.execute(f"INSERT INTO request_log SELECT * FROM {source}")
    op.drop_table(source)


def _create_partition(name: str, lower: str, upper: str) -> None:
    op.execute(
        f"CREATE TABLE {name} PARTITION OF request_log "
        f"FOR VALUES FROM ({lower}) TO ({upper})"
    )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _quoted(moment: datetime) -> str:
    return f"'{moment.isoformat()}'"
