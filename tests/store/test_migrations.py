"""Migrations on SQLite and PostgreSQL: upgrades keep every row of the last release."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import Connection, Engine, insert, text

from scimrelay.cli import main
from scimrelay.context import AppContext
from scimrelay.integrations.keys import issue_key
from scimrelay.ops import partitions
from scimrelay.relay.directory import Directory
from scimrelay.settings import Secret, Settings
from scimrelay.store.crypto import Keyring
from scimrelay.store.database import alembic_config, make_engine, upgrade
from scimrelay.store.models import Base, RequestLogEntry

PREVIOUS_RELEASE = "0001"
TOKEN = "previous-release-token-8c1d"
TENANT_ID = "0c62833f-3bde-43d9-a9bd-dbea29bcf3ad"
INTEGRATION_ID = "d1444004-4495-47f8-abc8-a3a323e05bcf"
NOW = datetime.now(UTC).replace(microsecond=0)
PREVIOUS_LOG_COLUMNS = (
    "id",
    "time",
    "request_id",
    "tenant_id",
    "integration_id",
    "method",
    "path",
    "query",
    "status",
    "downstream_status",
    "duration_ms",
    "downstream_ms",
    "client",
    "error",
    "request_body",
    "response_body",
)
LOG_TIMES = [NOW - timedelta(days=40), NOW - timedelta(days=2), NOW]


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The relay's own engine, so that SQLite gets its connection settings."""
    created = make_engine(Settings(database_url=database_url))
    yield created
    created.dispose()


def fill_previous_release(connection: Connection, keyring: Keyring) -> str:
    """Insert rows as the previous release wrote them; return the API key."""
    key = issue_key()
    connection.execute(
        text("INSERT INTO store_state VALUES (1, :check, 4)"),
        {"check": keyring.make_key_check()},
    )
    connection.execute(
        text("INSERT INTO tenants VALUES (:id, 'Acme', :now)"),
        {"id": TENANT_ID, "now": NOW},
    )
    connection.execute(
        text(
            "INSERT INTO integrations (id, tenant_id, name, scim_url, "
            "token_ciphertext, headers_ciphertext, header_names, group_description, "
            "force_group_description, created_at, updated_at) VALUES (:id, :tenant, "
            "'Braze', 'https://rest.example.com/scim/v2', :token, :headers, "
            "'[\"X-Request-Origin\"]', 'Created for {tenant_id}', false, :now, :now)"
        ),
        {
            "id": INTEGRATION_ID,
            "tenant": TENANT_ID,
            "token": keyring.encrypt(TOKEN.encode()),
            "headers": keyring.encrypt(
                b'[{"name": "X-Request-Origin", "value": "acme"}]'
            ),
            "now": NOW,
        },
    )
    connection.execute(
        text("INSERT INTO api_keys VALUES (:id, :integration, :hash, :now, NULL)"),
        {
            "id": key.key_id,
            "integration": INTEGRATION_ID,
            "hash": key.secret_hash,
            "now": NOW,
        },
    )
    connection.execute(insert(RequestLogEntry), [log_row(at) for at in LOG_TIMES])
    return key.plaintext


def log_row(at: datetime) -> dict[str, Any]:
    return {
        "time": at,
        "request_id": f"request-{at:%Y%m%d}",
        "tenant_id": TENANT_ID,
        "integration_id": INTEGRATION_ID,
        "method": "GET",
        "path": f"/scim/v2/{INTEGRATION_ID}/Users",
        "query": "count=1",
        "status": 200,
        "downstream_status": 200,
        "duration_ms": 12.5,
        "downstream_ms": 10.0,
        "client": "127.0.0.1",
        "error": None,
        "request_body": None,
        "response_body": '{"totalResults": 0}',
    }


def log_rows(engine: Engine) -> list[tuple[Any, ...]]:
    """Return the request log's rows, in the columns of the previous release."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                f"SELECT {', '.join(PREVIOUS_LOG_COLUMNS)} FROM request_log ORDER BY id"
            )
        )
        return [tuple(row) for row in rows]


@dataclass(frozen=True)
class PreviousRelease:
    master_key: bytes
    api_key: str
    log: list[tuple[Any, ...]]


@pytest.fixture
def previous_release(engine: Engine) -> PreviousRelease:
    """A database at the previous release's revision, with data in every table."""
    master_key = Fernet.generate_key()
    command.upgrade(alembic_config(engine), PREVIOUS_RELEASE)
    with engine.begin() as connection:
        api_key = fill_previous_release(connection, Keyring([master_key]))
    return PreviousRelease(master_key, api_key, log_rows(engine))


def open_context(database_url: str, keyring_key: bytes, tmp_path: Path) -> AppContext:
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        secret_key=Secret(keyring_key.decode()),
    )
    return AppContext.open(settings)


def test_upgrade_keeps_request_log(
    engine: Engine, previous_release: PreviousRelease
) -> None:
    upgrade(engine)

    assert len(previous_release.log) == len(LOG_TIMES)
    assert log_rows(engine) == previous_release.log


def test_upgrade_keeps_configuration(
    engine: Engine,
    database_url: str,
    tmp_path: Path,
    previous_release: PreviousRelease,
) -> None:
    upgrade(engine)
    context = open_context(database_url, previous_release.master_key, tmp_path)
    try:
        view = context.service.get_integration(INTEGRATION_ID)
        token, headers = context.service.read_secrets(INTEGRATION_ID)
        directory = Directory(context.service)
        directory.refresh_if_changed()
    finally:
        context.close()

    assert view.tenant_id == TENANT_ID
    assert view.header_names == ["X-Request-Origin"]
    assert token == TOKEN
    assert [header.value for header in headers] == ["acme"]
    assert directory.version == 4
    assert directory.authenticate(INTEGRATION_ID, previous_release.api_key)


def test_ids_continue_after_upgrade(
    engine: Engine, previous_release: PreviousRelease
) -> None:
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(insert(RequestLogEntry), [log_row(NOW)])

    ids = [row[0] for row in log_rows(engine)]
    assert ids == sorted(set(ids))
    assert ids[-1] > max(row[0] for row in previous_release.log)


def test_upgrade_partitions_log_on_postgresql(
    engine: Engine,
    backend: str,
    previous_release: PreviousRelease,
) -> None:
    upgrade(engine)

    with engine.connect() as connection:
        partitioned = partitions.is_partitioned(connection)
        names = [partition.name for partition in partitions.list_partitions(connection)]
    if backend == "sqlite":
        assert not partitioned
        assert names == []
        return

    today = NOW.date()
    assert partitioned
    assert names[0] == f"request_log_before_{today:%Y%m%d}"
    assert names[1:] == [
        partitions.day_partition_name(today + timedelta(days=offset))
        for offset in range(partitions.DAYS_AHEAD + 1)
    ]


def test_downgrade_keeps_request_log(
    engine: Engine, previous_release: PreviousRelease
) -> None:
    before = previous_release.log
    upgrade(engine)

    command.downgrade(alembic_config(engine), PREVIOUS_RELEASE)

    with engine.connect() as connection:
        assert not partitions.is_partitioned(connection)
    assert log_rows(engine) == before
    upgrade(engine)
    assert log_rows(engine) == before


def test_models_match_migrations(engine: Engine) -> None:
    upgrade(engine)

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "include_name": partitions.include_name},
        )
        differences = compare_metadata(context, Base.metadata)

    assert differences == []


def test_db_status_reports_pending_then_current(database_url: str) -> None:
    runner = CliRunner()
    env = {"SCIMRELAY_DATABASE_URL": database_url}

    pending = runner.invoke(main, ["db", "status", "--json"], env=env)
    upgraded = runner.invoke(main, ["db", "upgrade"], env=env)
    current = runner.invoke(main, ["db", "status", "--json"], env=env)

    assert pending.exit_code == 1, pending.output
    assert '"current": false' in pending.output
    assert upgraded.exit_code == 0, upgraded.output
    assert "database at revision" in upgraded.output
    assert current.exit_code == 0, current.output
    assert '"current": true' in current.output
