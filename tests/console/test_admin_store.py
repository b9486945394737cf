"""The admin tables' migration, on SQLite and PostgreSQL, and the admin CLI."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text

from scimrelay.store.database import upgrade
from scimrelay.store.models import Base
from tests.support.relay import Cli, relay_environment

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ADMIN_TABLES = {
    "admin_users",
    "admin_sessions",
    "admin_tokens",
    "admin_setup_tokens",
    "admin_audit",
}


def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'store.db'}")
    yield engine
    engine.dispose()


def postgres_engine() -> Iterator[Engine]:
    schema = f"admin_{secrets.token_hex(4)}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine = create_engine(
        POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"}
    )
    yield engine
    engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        yield from sqlite_engine(tmp_path)
    else:
        yield from postgres_engine()


def admin_differences(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        differences = compare_metadata(
            MigrationContext.configure(connection), Base.metadata
        )
    return [
        difference
        for difference in differences
        if any(table in repr(difference) for table in ADMIN_TABLES)
    ]


def test_migration_creates_the_admin_tables_as_modelled(engine: Engine) -> None:
    upgrade(engine)

    assert set(inspect(engine).get_table_names()) >= ADMIN_TABLES
    assert admin_differences(engine) == []


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(relay_environment(tmp_path / "data", {}), tmp_path)


def test_admin_create_reads_the_password_from_stdin(cli: Cli) -> None:
    tenant = cli.json("tenant", "create", "Acme")
    owner = cli.json(
        "admin", "create", "Owner@Example.com", input="a strong password\n"
    )
    helper = cli.json(
        "admin",
        "create",
        "help@acme.example",
        "--role",
        "tenant-admin",
        "--tenant",
        tenant["id"],
        input="another strong password\n",
    )
    listed = cli.json("admin", "list")

    assert owner["email"] == "owner@example.com"
    assert owner["role"] == "owner"
    assert helper["tenant_id"] == tenant["id"]
    assert [item["email"] for item in listed] == [
        "owner@example.com",
        "help@acme.example",
    ]
    assert "a strong password" not in str(listed)


def test_admin_create_refuses_a_short_password(cli: Cli) -> None:
    completed = cli.run("admin", "create", "a@example.com", input="short\n")

    assert completed.returncode == 2
    assert "password: is shorter than 12 characters" in completed.stderr


def test_tenant_admin_needs_a_tenant(cli: Cli) -> None:
    completed = cli.run(
        "admin",
        "create",
        "a@example.com",
        "--role",
        "tenant-admin",
        input="long enough pw\n",
    )

    assert completed.returncode == 2
    assert "tenant_id: is required for a tenant admin" in completed.stderr
