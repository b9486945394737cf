"""Fixtures that run each store test against SQLite and against PostgreSQL.

SQLite gets a new file per test. PostgreSQL gets one throwaway database for
the session, emptied before each test; tests that migrate a database up and
down make their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, inspect, text

from scimrelay.context import AppContext
from scimrelay.settings import Secret, Settings
from tests.support.postgres import temporary_database

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
TABLES = ("api_keys", "integrations", "tenants", "request_log", "store_state")


@pytest.fixture(scope="session")
def shared_postgres_url() -> Iterator[str]:
    with temporary_database() as url:
        yield url


def empty_tables(url: str) -> None:
    """Delete every row of the relay's tables, if they exist yet."""
    engine = create_engine(url)
    try:
        existing = set(inspect(engine).get_table_names())
        with engine.begin() as connection:
            # DELETE, not TRUNCATE: on a few rows it skips the locks and the
            # new files that TRUNCATE takes for every partition.
            for table in TABLES:
                if table in existing:
                    connection.execute(text(f"DELETE FROM {table}"))
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Settings:
    """Settings for an empty store of the test's backend, with a new master key."""
    data_dir = tmp_path_factory.mktemp("data")
    key = Secret(Fernet.generate_key().decode())
    if backend == "sqlite":
        return Settings(data_dir=data_dir, secret_key=key)

    url = str(request.getfixturevalue("shared_postgres_url"))
    empty_tables(url)
    return Settings(data_dir=data_dir, database_url=url, secret_key=key)


@pytest.fixture
def fresh_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a database of the test's backend that no other test touches."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'scimrelay.db'}"
        return

    with temporary_database() as url:
        yield url


@pytest.fixture
def context(settings: Settings) -> Iterator[AppContext]:
    """An opened, migrated store with its keyring and service."""
    opened = AppContext.open(settings)
    yield opened
    opened.close()
