"""Throwaway PostgreSQL databases, so that test runs never share tables.

Each database is named ``scimrelay_test_<random>`` on the server at
``SCIMRELAY_TEST_POSTGRES`` (default ``127.0.0.1:5432``, user postgres, trust
authentication), created from the maintenance database ``test`` and dropped,
with any connection still open to it, when the test is done.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy.engine import make_url

SERVER_URL = os.environ.get(
    "SCIMRELAY_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _admin_conninfo() -> str:
    url = make_url(SERVER_URL).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def database_url(name: str) -> str:
    """Return the SQLAlchemy URL of database ``name`` on the test server."""
    return make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop the database of ``url`` now, closing its connections."""
    name = make_url(url).database
    with psycopg.connect(_admin_conninfo(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def temporary_database() -> Iterator[str]:
    """Create an empty database, yield its SQLAlchemy URL, then drop it."""
    name = f"scimrelay_test_{secrets.token_hex(6)}"
    try:
        admin = psycopg.connect(_admin_conninfo(), autocommit=True)
    except psycopg.OperationalError as error:
        raise AssertionError(
            f"PostgreSQL is not reachable at {SERVER_URL}: {error}; start it "
            "with scripts/ensure-services.sh"
        ) from None

    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield database_url(name)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
