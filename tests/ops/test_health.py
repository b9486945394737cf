"""``/healthz`` and ``/readyz`` of a relay whose PostgreSQL store changes under it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from alembic import command
from sqlalchemy import create_engine

from scimrelay.store.database import alembic_config, upgrade
from tests.conftest import ScimServer
from tests.support.cluster import instance, serve_instance, shared_store_cli
from tests.support.postgres import drop_database, temporary_database
from tests.support.relay import Relay

pytestmark = pytest.mark.postgres

OWN_REVISION = "0005_operations"


@pytest.fixture
def database_url() -> Iterator[str]:
    with temporary_database() as url:
        yield url


@pytest.fixture
def relay(
    database_url: str,
    scim_server: ScimServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Relay]:
    root = tmp_path_factory.mktemp("health")
    cli = shared_store_cli(root, database_url)
    tenant_id = str(cli.json("tenant", "create", "acme")["id"])
    process = serve_instance(cli, root / "logs")
    yield instance(cli, process, tenant_id, {})
    process.stop()


def probe(relay: Relay, path: str) -> tuple[int, dict[str, Any]]:
    with httpx.Client(trust_env=False, timeout=10) as client:
        response = client.get(relay.base_url + path)
    return response.status_code, response.json()


def probe_until(relay: Relay, path: str, status: int) -> dict[str, Any]:
    """Probe until the status is ``status``; readiness is cached for a second."""
    deadline = time.monotonic() + 10
    code, body = probe(relay, path)
    while code != status and time.monotonic() < deadline:
        time.sleep(0.2)
        code, body = probe(relay, path)
    assert code == status, body
    return body


def test_ready_when_store_current(relay: Relay) -> None:
    assert probe(relay, "/healthz") == (200, {"status": "ok"})
    assert probe(relay, "/readyz") == (200, {"status": "ok", "migrations": "current"})


def test_not_ready_while_migrations_pending(relay: Relay, database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        command.downgrade(alembic_config(engine), "0001")
        pending = probe_until(relay, "/readyz", 503)
        alive = probe(relay, "/healthz")
        upgrade(engine)
        ready = probe_until(relay, "/readyz", 200)
    finally:
        engine.dispose()

    assert pending["status"] == "unavailable"
    assert OWN_REVISION in pending["migrations"]
    assert alive == (200, {"status": "ok"})
    assert ready["migrations"] == "current"


def test_not_ready_when_store_is_gone(relay: Relay, database_url: str) -> None:
    drop_database(database_url)

    body = probe_until(relay, "/readyz", 503)

    assert body["status"] == "unavailable"
    assert "store" in body
    assert probe(relay, "/healthz") == (200, {"status": "ok"})
