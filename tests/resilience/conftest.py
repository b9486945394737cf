"""Fixtures for the reliability and security tests: fault downstream, stores."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from tests.support.faults import start_faults
from tests.support.postgres import temporary_database
from tests.support.processes import ManagedProcess
from tests.support.relay import Relay

DOWNSTREAM_TOKEN = "downstream-token-Zq81vTn0pLx4"
READY_TIMEOUT = 10.0
STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    """The fault-injection downstream, one per test module."""
    process = start_faults(tmp_path_factory.mktemp("faults"))
    yield process
    process.stop()


@pytest.fixture(params=STORES)
def store_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Relay settings for a new store: SQLite in the data folder, or PostgreSQL.

    The PostgreSQL database is dropped after the test, so a test using it
    stops its relays first.
    """
    if request.param == "sqlite":
        yield {}
        return

    with temporary_database() as url:
        key = Fernet.generate_key().decode()
        yield {"SCIMRELAY_DATABASE_URL": url, "SCIMRELAY_SECRET_KEY": key}


def fault_stats(faults: ManagedProcess) -> dict[str, int]:
    """Return how many requests each behaviour received, as ``"kind METHOD"``."""
    with httpx.Client(trust_env=False) as client:
        counts: dict[str, int] = client.get(f"{faults.url}/_control/stats").json()
    return counts


def control(faults: ManagedProcess, action: str) -> None:
    with httpx.Client(trust_env=False) as client:
        client.post(f"{faults.url}/_control/{action}")


def add_integration(relay: Relay, scim_url: str, *options: str) -> dict[str, Any]:
    """Create an integration on a running relay and wait until it serves it."""
    integration = relay.create_integration(scim_url, DOWNSTREAM_TOKEN, options=options)
    wait_until_served(relay, integration)
    return integration


def wait_until_served(relay: Relay, integration: dict[str, Any]) -> None:
    """Poll until the relay accepts the integration's key (config reloads in 0.5 s)."""
    deadline = time.monotonic() + READY_TIMEOUT
    with relay.client(integration=integration) as client:
        while time.monotonic() < deadline:
            # A dot segment is refused after authentication, before forwarding.
            if client.get("/x/%2e%2e").status_code != 401:
                return
            time.sleep(0.1)
    raise AssertionError("the relay never accepted the new integration's key")


def assert_scim_error(response: httpx.Response, status: int) -> dict[str, Any]:
    """Check a relay answer is a SCIM error (RFC 7644 §3.12) and return it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    document: dict[str, Any] = response.json()
    assert document["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert document["status"] == str(status)
    assert "Traceback" not in response.text
    return document
