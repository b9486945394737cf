"""``/healthz`` and ``/readyz`` of a relay whose PostgreSQL store changes under it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from sqlalchemy import create_engine

from scimrelay.store.database import alembic_config, upgrade
from tests.support.cluster import serve_instance, shared_store_cli
from tests.support.postgres import drop_database, temporary_database
from tests.support.processes import ManagedProcess

pytestmark = pytest.mark.postgres

OWN_REVISION = "0005_operations"


def start_relay(database_url: str, root: Path) -> ManagedProcess:
    cli = shared_store_cli(root, database_url)
    cli.json("tenant", "create", "acme")
    return serve_instance(cli, root / "logs")


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    with temporary_database() as url:
        yield url


@pytest.fixture(scope="module")
def relay_url(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The base URL of a relay on the module's database, which tests restore."""
    process = start_relay(database_url, tmp_path_factory.mktemp("health"))
    yield process.url
    process.stop()


def probe(base_url: str, path: str) -> tuple[int, dict[str, Any]]:
    with httpx.Client(trust_env=False, timeout=10) as client:
        response = client.get(base_url + path)
    return response.status_code, response.json()


def probe_until(base_url: str, path: str, status: int) -> dict[str, Any]:
    """Probe until the status is ``status``; readiness is cached for a second."""
    deadline = time.monotonic() + 10
    code, body = probe(base_url, path)
    while code != status and time.monotonic() < deadline:
        time.sleep(0.2)
        code, body = probe(base_url, path)
    assert code == status, body
    return body


def test_ready_when_store_current(relay_url: str) -> None:
    assert probe(relay_url, "/healthz") == (200, {"status": "ok"})
    assert probe(relay_url, "/readyz") == (
        200,
        {"status": "ok", "migrations": "current"},
    )


def test_not_ready_while_migrations_pending(relay_url: str, database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        command.downgrade(alembic_config(engine), "0001")
        pending = probe_until(relay_url, "/readyz", 503)
        alive = probe(relay_url, "/healthz")
        upgrade(engine)
        ready = probe_until(relay_url, "/readyz", 200)
    finally:
        engine.dispose()

    assert pending["status"] == "unavailable"
    assert OWN_REVISION in pending["migrations"]
    assert alive == (200, {"status": "ok"})
    assert ready["migrations"] == "current"


def test_not_ready_when_store_is_gone(tmp_path: Path) -> None:
    with temporary_database() as own_database:
        process = start_relay(own_database, tmp_path)
        try:
            drop_database(own_database)
            body = probe_until(process.url, "/readyz", 503)
            alive = probe(process.url, "/healthz")
        finally:
            process.stop()

    assert body["status"] == "unavailable"
    assert "store" in body
    assert alive == (200, {"status": "ok"})
