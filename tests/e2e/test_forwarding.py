"""What the relay sends downstream: credentials, custom headers, path and query.

An echo downstream returns the request it received, so each test reads the
exact headers and target the relay sent. A header gate proves that configured
custom headers reach the downstream.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import DownstreamFactory, ScimServer
from tests.support.downstreams import recorded_request
from tests.support.processes import ManagedProcess
from tests.support.relay import Relay

ECHO_TOKEN = f"echo-token-{secrets.token_hex(8)}"
ECHO_HEADER_VALUE = f"echo-header-{secrets.token_hex(8)}"
GATE_ORIGIN = f"relay-origin-{secrets.token_hex(8)}"
CLIENT_HEADERS = {
    "Cookie": "session=idp-cookie",
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Host": "idp.example.test",
    "X-Forwarded-Proto": "https",
    "Forwarded": "for=203.0.113.7;proto=https",
    "Proxy-Authorization": "Basic aWRwOnByb3h5",
}
QUERY = (
    "filter=userName%20eq%20%22a%2Bb%40example.test%22"
    "%20and%20displayName%20eq%20%22Ren%C3%A9e+O%27Hara%22"
    "&startIndex=1&count=10&attributes=userName,emails"
)


@dataclass(frozen=True)
class Echo:
    """The echo downstream and the file it records each request in."""

    process: ManagedProcess
    record: Path


@pytest.fixture(scope="module")
def echo(downstream_factory: DownstreamFactory) -> Echo:
    record = downstream_factory.log_dir / f"echo-{secrets.token_hex(4)}.jsonl"
    process = downstream_factory("echo", "--record", str(record))

    return Echo(process, record)


def received_by_echo(echo: Echo, response: httpx.Response) -> dict[str, Any]:
    """Return what the echo received for ``response``, found by its request id.

    The record is read instead of the response body, because the relay masks
    the token and header values wherever they appear in a response.
    """
    assert response.status_code == 200, response.text

    return recorded_request(echo.record, response.headers["x-request-id"])


@pytest.fixture(scope="module")
def echo_integration(relay: Relay, echo: Echo) -> dict[str, Any]:
    """An integration whose base URL has a path prefix and a trailing slash."""
    return relay.create_integration(
        f"{echo.process.url}/tenants/acme/scim/v2/",
        ECHO_TOKEN,
        headers=[f"X-Tenant-Secret: {ECHO_HEADER_VALUE}"],
    )


@pytest.fixture(scope="module")
def echoed(
    relay: Relay, echo: Echo, echo_integration: dict[str, Any]
) -> dict[str, Any]:
    """Send one search through the relay and return what the echo received."""
    with relay.client(integration=echo_integration) as client:
        response = client.get(f"/Users?{QUERY}", headers=CLIENT_HEADERS)

    return received_by_echo(echo, response)


def header_values(received: dict[str, Any], name: str) -> list[str]:
    return [value for key, value in received["headers"] if key.lower() == name]


def test_create_notices_trailing_slash_removed(
    echo_integration: dict[str, Any],
) -> None:
    notices = echo_integration["notices"]

    assert any("slash" in notice.lower() for notice in notices), notices


def test_forwarded_path_joins_base_without_double_slash(
    echoed: dict[str, Any],
) -> None:
    assert echoed["raw_path"] == "/tenants/acme/scim/v2/Users"
    assert "//" not in echoed["raw_path"]


def test_forwarded_query_is_byte_exact(echoed: dict[str, Any]) -> None:
    assert echoed["query_string"] == QUERY


@pytest.mark.parametrize(
    "resource_path",
    ["/Users/ab%2Fcd", "/Users/caf%C3%A9", "/Users/a%20b", "/Users/2819c223%3Bv=1"],
)
def test_encoded_path_is_byte_exact(
    relay: Relay, echo: Echo, echo_integration: dict[str, Any], resource_path: str
) -> None:
    with relay.client(integration=echo_integration) as client:
        response = client.get(resource_path)

    received = received_by_echo(echo, response)
    assert received["raw_path"] == "/tenants/acme/scim/v2" + resource_path


def test_downstream_token_replaces_api_key(
    relay: Relay, echoed: dict[str, Any]
) -> None:
    authorization = header_values(echoed, "authorization")

    assert authorization == [f"Bearer {ECHO_TOKEN}"]
    assert relay.api_key not in str(echoed["headers"])


def test_custom_header_is_injected(echoed: dict[str, Any]) -> None:
    assert header_values(echoed, "x-tenant-secret") == [ECHO_HEADER_VALUE]


@pytest.mark.parametrize("name", [name.lower() for name in CLIENT_HEADERS])
def test_client_header_is_not_forwarded(echoed: dict[str, Any], name: str) -> None:
    assert header_values(echoed, name) == []


def test_user_agent_names_scimrelay(echoed: dict[str, Any]) -> None:
    user_agent = header_values(echoed, "user-agent")

    assert len(user_agent) == 1
    assert "scimrelay" in user_agent[0].lower()


def test_request_id_sent_downstream_once(echoed: dict[str, Any]) -> None:
    # The record was found by the response's X-Request-ID, so the two match.
    sent = header_values(echoed, "x-request-id")

    assert len(sent) == 1
    assert sent[0]


def test_json_content_type_becomes_scim_json(
    relay: Relay, downstream_factory: DownstreamFactory
) -> None:
    plain_json = downstream_factory("echo", "--content-type", "application/json")
    integration = relay.create_integration(f"{plain_json.url}/scim/v2", ECHO_TOKEN)
    with relay.client(integration=integration) as client:
        response = client.get("/ServiceProviderConfig")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/scim+json")


def test_request_ids_differ_between_requests(
    relay: Relay, echo_integration: dict[str, Any]
) -> None:
    with relay.client(integration=echo_integration) as client:
        first = client.get("/ServiceProviderConfig")
        second = client.get("/ServiceProviderConfig")

    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_patch_method_and_body_are_forwarded(
    relay: Relay, echo: Echo, echo_integration: dict[str, Any]
) -> None:
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": False}}],
    }
    with relay.client(integration=echo_integration) as client:
        response = client.patch("/Users/2819c223", json=patch)

    received = received_by_echo(echo, response)
    assert received["method"] == "PATCH"
    assert received["raw_path"] == "/tenants/acme/scim/v2/Users/2819c223"
    assert '"active"' in received["body"]


@pytest.fixture(scope="module")
def gate(downstream_factory: DownstreamFactory, scim_server: ScimServer) -> str:
    """Return the gate's URL for a new scim2-server tenant."""
    process = downstream_factory(
        "gate", "--upstream", scim_server.url, "--expect-origin", GATE_ORIGIN
    )
    tenant_path = scim_server.new_tenant_url().removeprefix(scim_server.url)

    return process.url + tenant_path


def test_gate_rejects_integration_without_header(
    relay: Relay, scim_server: ScimServer, gate: str
) -> None:
    integration = relay.create_integration(gate, scim_server.token)
    with relay.client(integration=integration) as client:
        response = client.get("/Users")

    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == "403"


def test_gate_accepts_integration_with_header(
    relay: Relay, scim_server: ScimServer, gate: str
) -> None:
    integration = relay.create_integration(
        gate, scim_server.token, headers=[f"X-Request-Origin: {GATE_ORIGIN}"]
    )
    user = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": f"gated-{secrets.token_hex(4)}",
    }
    with relay.client(integration=integration) as client:
        listed = client.get("/Users")
        created = client.post("/Users", json=user)

    assert listed.status_code == 200, listed.text
    assert created.status_code == 201, created.text
    assert created.json()["userName"] == user["userName"]


@pytest.fixture(scope="module")
def versioned_user(relay: Relay) -> httpx.Response:
    """Create a user on the default integration and return the read response."""
    user = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": f"etag-{secrets.token_hex(4)}",
    }
    with relay.client() as client:
        created = client.post("/Users", json=user)
        assert created.status_code == 201, created.text
        read = client.get(f"/Users/{created.json()['id']}")

    assert read.status_code == 200, read.text
    assert read.headers.get("etag")

    return read


def test_if_none_match_returns_304(
    relay: Relay, versioned_user: httpx.Response
) -> None:
    user_id = versioned_user.json()["id"]
    headers = {"If-None-Match": versioned_user.headers["etag"]}
    with relay.client() as client:
        response = client.get(f"/Users/{user_id}", headers=headers)

    assert response.status_code == 304


def test_stale_if_match_returns_412(
    relay: Relay, versioned_user: httpx.Response
) -> None:
    body = versioned_user.json()
    replacement = {
        "schemas": body["schemas"],
        "userName": body["userName"],
        "displayName": "Stale Writer",
    }
    headers = {"If-Match": 'W/"stale-version"'}
    with relay.client() as client:
        response = client.put(f"/Users/{body['id']}", json=replacement, headers=headers)

    assert response.status_code == 412, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
