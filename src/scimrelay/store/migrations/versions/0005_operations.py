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
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005_operations"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DAYS_AHEAD = 7
SEQUENCE = "request_log_id_seq"
COLUMNS = (
    "id, time, request_id, tenant_id, integration_id, method, path, query, "
    "status, downstream_status, duration_ms, downstream_ms, client, error, "
    "request_body, response_body"
)
CORE_INDEXES = {
    "ix_request_log_integration_time": ["integration_id", "time"],
    "ix_request_log_request_id": ["request_id"],
    "ix_request_log_tenant_time": ["tenant_id", "time"],
    "ix_request_log_time": ["time"],
}
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
    _set_aside("request_log", "request_log_unpartitioned", CORE_INDEXES)
    _create_log_table(partitioned=True)
    for name, columns in {**CORE_INDEXES, **FILTER_INDEXES}.items():
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
    _move_rows("request_log_unpartitioned", "request_log")


def _unpartition_request_log() -> None:
    indexes = {**CORE_INDEXES, **FILTER_INDEXES}
    _set_aside("request_log", "request_log_partitioned", indexes)
    _create_log_table(partitioned=False)
    for name, columns in CORE_INDEXES.items():
        op.create_index(name, "request_log", columns)
    _move_rows("request_log_partitioned", "request_log")


def _set_aside(table: str, new_name: str, indexes: dict[str, list[str]]) -> None:
    """Rename a table and free its index, key and sequence names for a new one."""
    op.execute(f"ALTER SEQUENCE {SEQUENCE} OWNED BY NONE")
    for name in indexes:
        op.drop_index(name, table_name=table)
    op.rename_table(table, new_name)
    op.execute(
        f"ALTER TABLE {new_name} RENAME CONSTRAINT {table}_pkey TO {new_name}_pkey"
    )


def _create_log_table(*, partitioned: bool) -> None:
    primary_key = ("id", "time") if partitioned else ("id",)
    options: dict[str, Any] = (
        {"postgresql_partition_by": "RANGE (time)"} if partitioned else {}
    )
    op.create_table(
        "request_log",
        sa.Column(
            "id",
            sa.BigInteger(),
            server_default=sa.text(f"nextval('{SEQUENCE}'::regclass)"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=True),
        sa.Column("integration_id", sa.String(length=36), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=2048), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("downstream_status", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("downstream_ms", sa.Float(), nullable=True),
        sa.Column("client", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("request_body", sa.Text(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint(*primary_key, name="request_log_pkey"),
        **options,
    )
    op.execute(f"ALTER SEQUENCE {SEQUENCE} OWNED BY request_log.id")


def _move_rows(source: str, target: str) -> None:
    op.execute(f"INSERT INTO {target} ({COLUMNS}) SELECT {COLUMNS} FROM {source}")
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
