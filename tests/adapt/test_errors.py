"""Downstream errors and statuses as the relay returns them (RFC 7644 §3.12)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.adapt.conftest import AdaptedFactory
from tests.conftest import DownstreamFactory, RelayFactory, ScimServer
from tests.support.processes import ManagedProcess
from tests.support.relay import Relay


@pytest.fixture(scope="module")
def front(adapted_factory: AdaptedFactory) -> ManagedProcess:
    return adapted_factory("limited")


@pytest.fixture(scope="module")
def relay(relay_factory: RelayFactory) -> Relay:
    return relay_factory()


def through(
    relay: Relay, front: ManagedProcess, token: str, status: int
) -> httpx.Client:
    integration = relay.create_integration(f"{front.url}/fail/{status}", token)
    return relay.client(integration=integration)


def test_conflict_gets_uniqueness_scim_type(
    relay: Relay, front: ManagedProcess, scim_server: ScimServer
) -> None:
    with through(relay, front, scim_server.token, 409) as client:
        response = client.post("/Users", json={"userName": "taken"})

    assert response.status_code == 409
    assert response.json()["scimType"] == "uniqueness"
    assert "already taken" in response.json()["detail"]


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_keeps_status_and_retry_after(
    relay: Relay, front: ManagedProcess, scim_server: ScimServer, status: int
) -> None:
    with through(relay, front, scim_server.token, status) as client:
        response = client.get("/Users/abc")

    assert response.status_code == status
    assert response.headers["Retry-After"] == "7"
    assert response.json()["status"] == str(status)
    assert "rate limited, slow down" in response.json()["detail"]


def test_precondition_failed_passes_through(
    relay: Relay, front: ManagedProcess, scim_server: ScimServer
) -> None:
    with through(relay, front, scim_server.token, 412) as client:
        response = client.put(
            "/Users/abc", json={"userName": "a"}, headers={"If-Match": 'W/"1"'}
        )

    assert response.status_code == 412
    assert response.json()["status"] == "412"


def test_not_modified_has_no_body(
    relay: Relay, front: ManagedProcess, scim_server: ScimServer
) -> None:
    with through(relay, front, scim_server.token, 304) as client:
        response = client.get("/Users/abc", headers={"If-None-Match": 'W/"9"'})

    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["ETag"] == 'W/"9"'


def test_generic_request_reaches_downstream_byte_for_byte(
    relay: Relay, downstream_factory: DownstreamFactory, scim_server: ScimServer
) -> None:
    echo = downstream_factory("echo")
    integration = relay.create_integration(echo.url, scim_server.token)
    raw = (
        b'{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],'
        b'"Operations":[{"op":"Replace","path":"active","value":"False"}]}'
    )
    with relay.client(integration=integration) as client:
        response = client.patch(
            "/Users/abc", content=raw, headers={"Content-Type": "application/scim+json"}
        )

    assert response.status_code == 200
    assert json.loads(response.content)["body"].encode() == raw
