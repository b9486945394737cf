"""The relay's garbage collection settings and the garbage requests leave.

The relay's ASGI application runs in this process, so that the test can look
at the collector. It forwards to the fault downstream's ``ok`` path. The
collector's settings are restored afterwards for the other tests.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from scimrelay.adapt.exchange import Call
from scimrelay.app import GC_YOUNG_THRESHOLD, create_app
from scimrelay.context import AppContext
from scimrelay.integrations.service import IntegrationInput
from scimrelay.scim.endpoint import Exchange
from scimrelay.settings import Settings
from tests.support.faults import start_faults


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    """Yield a started relay app and its API key, then restore the collector."""
    threshold = gc.get_threshold()
    faults = start_faults(tmp_path / "faults")
    settings = Settings(data_dir=tmp_path / "relay", allow_private_downstreams=True)
    context = AppContext.open(settings)
    try:
        tenant = context.service.create_tenant("gc")
        data = IntegrationInput(name="gc", scim_url=f"{faults.url}/ok", token="t0ken")
        created = context.service.create_integration(tenant.id, data)
    finally:
        context.close()
    try:
        with TestClient(create_app(settings)) as client:
            client.base_url = client.base_url.join(created.integration.scim_base_path)
            yield client, created.key.plaintext
    finally:
        faults.stop()
        gc.unfreeze()
        gc.set_threshold(*threshold)


def test_start_up_objects_are_frozen(relay: tuple[TestClient, str]) -> None:
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD


def test_relayed_requests_leave_no_cycles(relay: tuple[TestClient, str]) -> None:
    """Reference counting frees a request's objects, so the collector finds none."""
    client, api_key = relay
    headers = {"Authorization": f"Bearer {api_key}"}
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        statuses = [
            client.get("/Users", headers=headers).status_code for _ in range(20)
        ]
        statuses.append(
            client.post("/Users", headers=headers, json={"userName": "a"}).status_code
        )
        gc.collect()
        cyclic = [item for item in gc.garbage if isinstance(item, Exchange | Call)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()

    assert statuses == [200] * 20 + [201]
    assert cyclic == []
