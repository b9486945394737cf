"""integration limits and replay links in the request log

Revision ID: 0004_resilience
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_resilience"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "integration_policies",
        sa.Column("integration_id", sa.String(length=36), nullable=False),
        sa.Column("per_second", sa.Float(), nullable=True),
        sa.Column("per_day", sa.BigInteger(), nullable=True),
        sa.Column("connect_timeout", sa.Float(), nullable=True),
        sa.Column("read_timeout", sa.Float(), nullable=True),
        sa.Column("total_timeout", sa.Float(), nullable=True),
        sa.Column("max_attempts", sa.Integer(), nullable=True),
        sa.Column("breaker_failures", sa.Integer(), nullable=True),
        sa.Column("breaker_cooldown", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["integration_id"], ["integrations.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("integration_id"),
    )
    with op.batch_alter_table("request_log") as batch_op:
        batch_op.add_column(sa.Column("replay_of", ID, nullable=True))
        batch_op.create_index(
            batch_op.f("ix_request_log_replay_of"), ["replay_of"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("request_log") as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_log_replay_of"))
        batch_op.drop_column("replay_of")
    op.drop_table("integration_policies")
