"""Store fixtures: each test runs on SQLite and on PostgreSQL.

SQLite gets a new file per test. For ``settings`` and ``context``, PostgreSQL
gets one throwaway database for the session, emptied before each test.
``database_url`` is a new empty database of the test's backend, for tests
that migrate, partition or drop it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, inspect

from scimrelay.context import AppContext
from scimrelay.settings import Secret, Settings
from scimrelay.store.models import Base
from tests.support.postgres import temporary_database

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
POSTGRES_ONLY = pytest.mark.parametrize(
    "backend", [pytest.param("postgresql", marks=pytest.mark.postgres)]
)
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """Yield a fresh, empty database URL of the test's backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return

    with temporary_database() as url:
        yield url


@pytest.fixture(scope="session")
def shared_postgres_url() -> Iterator[str]:
    with temporary_database() as url:
        yield url


def empty_tables(url: str) -> None:
    """Delete every row of the relay's tables that exist yet."""
    engine = create_engine(url)
    try:
        existing = set(inspect(engine).get_table_names())
        with engine.begin() as connection:
            # DELETE, not TRUNCATE: on a few rows it skips the locks and the
            # new files that TRUNCATE takes for every partition.
            for table in reversed(Base.metadata.sorted_tables):
                if table.name in existing:
                    connection.execute(table.delete())
    finally:
        engine.dispose()


@pytest.fixture
def master_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def settings(
    backend: str, master_key: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Settings:
    """Settings for an empty store of the test's backend, with a new master key.

    Private downstreams are allowed so that validating the tests' example host
    names never sends a DNS query.
    """
    key = Secret(master_key)
    if backend == "sqlite":
        return Settings(
            data_dir=tmp_path, secret_key=key, allow_private_downstreams=True
        )

    url = str(request.getfixturevalue("shared_postgres_url"))
    empty_tables(url)
    return Settings(
        data_dir=tmp_path,
        database_url=url,
        secret_key=key,
        allow_private_downstreams=True,
    )


@pytest.fixture
def context(settings: Settings) -> Iterator[AppContext]:
    """An opened, migrated store with its keyring and service."""
    opened = AppContext.open(settings)
    yield opened
    opened.close()
