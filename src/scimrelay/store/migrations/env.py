"""Alembic environment: runs migrations on the engine the relay opened."""

from alembic import context
from sqlalchemy import Engine, text

from scimrelay.ops.partitions import include_name
from scimrelay.store.models import Base
from scimrelay.sync import models as sync_models  # noqa: F401 - registers tables

# Any fixed 64-bit number works; it only has to differ from other lock users.
MIGRATION_LOCK_ID = 0x5C1A0001

engine: Engine = context.config.attributes["engine"]


with engine.begin() as connection:
    if connection.dialect.name == "postgresql":
        # Relays started together take turns; the later ones find nothing to do.
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID}
        )
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()
