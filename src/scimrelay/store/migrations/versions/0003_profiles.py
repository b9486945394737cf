"""add provider profiles, capabilities and applied rules

Revision ID: 0003_profiles
Revises: 0001
Create Date: 2026-12-04 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_profiles"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("integrations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "profile",
                sa.String(length=32),
                nullable=False,
                server_default="generic",
            )
        )
        batch_op.add_column(
            sa.Column("disabled_rules", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(
            sa.Column(
                "provider_auth",
                sa.String(length=16),
                nullable=False,
                server_default="bearer",
            )
        )
        batch_op.add_column(
            sa.Column("adaptation", sa.JSON(), nullable=False, server_default="{}")
        )
        batch_op.add_column(sa.Column("capabilities", sa.JSON(), nullable=True))

    with op.batch_alter_table("request_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("applied_rules", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("original_request_body", sa.Text(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("request_log", schema=None) as batch_op:
        batch_op.drop_column("original_request_body")
        batch_op.drop_column("applied_rules")

    with op.batch_alter_table("integrations", schema=None) as batch_op:
        batch_op.drop_column("capabilities")
        batch_op.drop_column("adaptation")
        batch_op.drop_column("provider_auth")
        batch_op.drop_column("disabled_rules")
        batch_op.drop_column("profile")
