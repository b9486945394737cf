"""The 0003_profiles migration on SQLite and PostgreSQL, up and down."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, inspect, text

from scimrelay.store.database import alembic_config

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
INTEGRATION_COLUMNS = {
    "profile",
    "disabled_rules",
    "provider_auth",
    "adaptation",
    "capabilities",
}
LOG_COLUMNS = {"applied_rules", "original_request_body"}


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Engine]:
    if request.param == "sqlite":
        made = create_engine(f"sqlite:///{tmp_path}/store.db")
        yield made
        made.dispose()
        return
    schema = f"migration_{secrets.token_hex(6)}"
    admin = create_engine(POSTGRES)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    made = create_engine(POSTGRES, connect_args={"options": f"-csearch_path={schema}"})
    yield made
    made.dispose()
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def columns(engine: Engine, table: str) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns(table)}


def test_upgrade_adds_profile_and_log_columns(engine: Engine) -> None:
    command.upgrade(alembic_config(engine), "heads")

    assert columns(engine, "integrations") >= INTEGRATION_COLUMNS
    assert columns(engine, "request_log") >= LOG_COLUMNS


def test_downgrade_to_core_removes_them(engine: Engine) -> None:
    config = alembic_config(engine)
    command.upgrade(config, "0003_profiles")

    command.downgrade(config, "0001")

    assert not INTEGRATION_COLUMNS & columns(engine, "integrations")
    assert not LOG_COLUMNS & columns(engine, "request_log")


def test_existing_integration_gets_generic_profile(engine: Engine) -> None:
    config = alembic_config(engine)
    command.upgrade(config, "0001")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO tenants (id, name, created_at) "
                "VALUES ('t', 'tenant', CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO integrations (id, tenant_id, name, scim_url, "
                "token_ciphertext, headers_ciphertext, header_names, "
                "group_description, force_group_description, created_at, updated_at) "
                "VALUES ('i', 't', 'n', 'http://x', :blob, :blob, '[]', 'd', false, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"blob": b"x"},
        )

    command.upgrade(config, "0003_profiles")

    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT profile, provider_auth FROM integrations")
        ).one()
    assert tuple(row) == ("generic", "bearer")
