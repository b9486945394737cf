"""Scheduled runs in the relay process, with the store on PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet

from tests.conftest import RelayFactory, ScimServer
from tests.support.google import Workspace
from tests.support.sync import SyncDriver, build_staff, count_resources, wait_until
from tests.sync.conftest import Google, postgres_schema

WAIT_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    with postgres_schema() as url:
        yield url


@pytest.fixture(scope="module")
def driver(
    database_url: str,
    google: Google,
    relay_factory: RelayFactory,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SyncDriver]:
    env = {
        "SCIMRELAY_DATABASE_URL": database_url,
        "SCIMRELAY_SECRET_KEY": Fernet.generate_key().decode(),
        "SCIMRELAY_SYNC_TICK_SECONDS": "0.5",
        "SCIMRELAY_GOOGLE_RETRY_SECONDS": "0.01",
    }
    relay = relay_factory(env=env)
    keys = tmp_path_factory.mktemp("keys")
    driver = SyncDriver(relay, google.fake, google.account, keys)
    yield driver
    driver.close()


def scheduled_source(
    driver: SyncDriver, scim_server: ScimServer, workspace: Workspace
) -> tuple[str, str]:
    url = scim_server.new_tenant_url()
    integration = driver.new_integration(url, scim_server.token)
    driver.set_source(integration, workspace, "--org-unit=/Staff", "--interval", "1")
    return integration, url


def finished_runs(driver: SyncDriver, integration: str) -> list[dict[str, Any]]:
    """Poll ``sync status`` until a run has finished; return the runs."""
    deadline = time.monotonic() + WAIT_TIMEOUT
    runs = driver.runs(integration)
    while not runs or runs[0]["status"] == "running":
        assert time.monotonic() < deadline, f"no run finished: {runs}"
        time.sleep(0.5)
        runs = driver.runs(integration)
    return runs


def test_relay_runs_due_source(driver: SyncDriver, scim_server: ScimServer) -> None:
    integration, url = scheduled_source(
        driver, scim_server, build_staff("C0scheduled", 10)
    )
    runs = finished_runs(driver, integration)
    code, manual = driver.run(integration)
    with scim_server.client(url) as direct:
        total = count_resources(direct, "Users")

    assert [(r["trigger"], r["status"]) for r in runs] == [("schedule", "succeeded")]
    assert runs[0]["created"] == 10
    assert (code, manual["created"], manual["unchanged"]) == (0, 0, 10)
    assert total == 10


def test_relay_stop_interrupts_run(driver: SyncDriver, scim_server: ScimServer) -> None:
    integration, url = scheduled_source(driver, scim_server, build_staff("C0stop"))
    with scim_server.client(url) as direct:
        wait_until(lambda: count_resources(direct, "Users") >= 100, "users arrive")
    driver.relay.stop()
    run = driver.runs(integration)[0]

    assert "relay stopped" in driver.relay.output()
    assert (run["trigger"], run["status"]) == ("schedule", "interrupted")
    assert "relay stopped" in run["detail"]
    assert 100 <= run["created"] < 600
