"""Fixtures of the sync tests: the fake Google server and its service accounts."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from scimrelay.settings import Secret, Settings
from tests.support.google import (
    READ_SCOPES,
    FakeGoogle,
    ServiceAccount,
    make_service_account,
    start_fake_google,
)

# The fake returns 403 rateLimitExceeded to every seventh Directory API request.
RATE_LIMIT_EVERY = 7


@dataclass(frozen=True)
class Google:
    """The running fake and the service accounts registered in it."""

    fake: FakeGoogle
    account: ServiceAccount
    users_only_account: ServiceAccount


@pytest.fixture(scope="session")
def google(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Google]:
    """Start the fake Google; one account may read everything, one only users."""
    fake = start_fake_google(tmp_path_factory.mktemp("fake-google"))
    account = make_service_account("scimrelay-sync")
    narrow = make_service_account("scimrelay-users-only")
    fake.load_accounts([(account, READ_SCOPES), (narrow, READ_SCOPES[:1])])
    fake.rate_limit_every(RATE_LIMIT_EVERY)
    yield Google(fake, account, narrow)
    fake.process.stop()


POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def postgres_schema() -> Iterator[str]:
    """Create an empty PostgreSQL schema; yield a URL whose search_path is it."""
    schema = f"sync_test_{secrets.token_hex(6)}"
    engine = create_engine(POSTGRES_URL)
    try:
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as error:
        pytest.fail(
            f"PostgreSQL at {POSTGRES_URL} is not answering ({error.orig}): start "
            "it with scripts/ensure-services.sh"
        )
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@contextmanager
def postgres_settings(data_dir: Path) -> Iterator[Settings]:
    """Relay settings for a store in a fresh PostgreSQL schema."""
    with postgres_schema() as url:
        yield Settings(
            data_dir=data_dir,
            database_url=url,
            secret_key=Secret(Fernet.generate_key().decode()),
        )
