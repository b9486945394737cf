"""The 0004_resilience migration upgrades and downgrades on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text

from scimrelay.ops.partitions import include_name
from scimrelay.store.database import alembic_config
from scimrelay.store.models import Base

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'store.db'}")
        yield engine
        engine.dispose()
        return
    schema = f"t_{secrets.token_hex(6)}"
    admin = create_engine(POSTGRES)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine = create_engine(
        POSTGRES, connect_args={"options": f"-csearch_path={schema}"}
    )
    yield engine
    engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def test_upgrade_matches_the_models_and_downgrade_removes_it(engine: Engine) -> None:
    config = alembic_config(engine)

    command.upgrade(config, "heads")
    with engine.connect() as connection:
        # The request log's day partitions on PostgreSQL are not in the models.
        options = {"include_name": include_name}
        differences = compare_metadata(
            MigrationContext.configure(connection, opts=options), Base.metadata
        )
    command.downgrade(config, "0001")
    tables = inspect(engine).get_table_names()
    columns = {column["name"] for column in inspect(engine).get_columns("request_log")}
    command.upgrade(config, "heads")

    assert differences == []
    assert "integration_policies" not in tables
    assert "replay_of" not in columns
    assert "integration_policies" in inspect(engine).get_table_names()
