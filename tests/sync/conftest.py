"""Fixtures of the sync tests: stores in fresh PostgreSQL schemas.

The fake Google server and its service accounts come from the ``google``
fixture of ``tests/conftest.py``, which the console tests share.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from scimrelay.settings import Secret, Settings
from tests.support.google import Google

__all__ = ["Google", "postgres_schema", "postgres_settings"]

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
