"""Alembic environment: runs migrations on the engine the relay opened."""

from alembic import context
from sqlalchemy import Engine

from scimrelay.store.models import Base
from scimrelay.sync import models as sync_models  # noqa: F401 - registers tables

engine: Engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
