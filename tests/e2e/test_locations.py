"""Location headers and meta.location point at the relay, never at the downstream.

Without SCIMRELAY_PUBLIC_URL the relay builds them from the URL the identity
provider called. With it, the relay builds them from the configured public URL.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from tests.conftest import RelayFactory, ScimServer
from tests.support.relay import Relay

PUBLIC_URL = "https://scim.example.test"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


def create_user(client: httpx.Client) -> httpx.Response:
    user = {"schemas": [USER_SCHEMA], "userName": f"loc-{secrets.token_hex(4)}"}
    response = client.post("/Users", json=user)
    assert response.status_code == 201, response.text

    return response


@pytest.fixture(scope="module")
def created(relay: Relay) -> httpx.Response:
    with relay.client() as client:
        return create_user(client)


def test_created_location_header_points_at_relay(
    relay: Relay, created: httpx.Response
) -> None:
    user_id = created.json()["id"]

    assert created.headers["location"] == f"{relay.scim_url}/Users/{user_id}"


def test_created_meta_location_points_at_relay(
    relay: Relay, created: httpx.Response
) -> None:
    body = created.json()

    assert body["meta"]["location"] == f"{relay.scim_url}/Users/{body['id']}"


def test_read_meta_location_points_at_relay(
    relay: Relay, created: httpx.Response
) -> None:
    user_id = created.json()["id"]
    with relay.client() as client:
        body = client.get(f"/Users/{user_id}").json()

    assert body["meta"]["location"] == f"{relay.scim_url}/Users/{user_id}"


def test_list_meta_locations_point_at_relay(
    relay: Relay, created: httpx.Response
) -> None:
    with relay.client() as client:
        body = client.get("/Users").json()

    locations = [resource["meta"]["location"] for resource in body["Resources"]]
    assert locations
    for location in locations:
        assert location.startswith(f"{relay.scim_url}/Users/")


def test_responses_never_name_downstream(
    relay: Relay, scim_server: ScimServer, created: httpx.Response
) -> None:
    user_id = created.json()["id"]
    with relay.client() as client:
        responses = [
            client.get(f"/Users/{user_id}"),
            client.get("/Users"),
            client.get("/ServiceProviderConfig"),
            client.get("/ResourceTypes"),
        ]

    for response in responses:
        assert scim_server.url not in response.text
        assert scim_server.url not in str(response.headers)


@pytest.fixture(scope="module")
def public_relay(relay_factory: RelayFactory) -> Relay:
    return relay_factory(env={"SCIMRELAY_PUBLIC_URL": PUBLIC_URL})


@pytest.fixture(scope="module")
def public_created(public_relay: Relay) -> dict[str, Any]:
    with public_relay.client() as client:
        response = create_user(client)

    return {"location": response.headers["location"], "body": response.json()}


def test_public_url_sets_location_header(
    public_relay: Relay, public_created: dict[str, Any]
) -> None:
    user_id = public_created["body"]["id"]
    expected = f"{PUBLIC_URL}/scim/v2/{public_relay.integration_id}/Users/{user_id}"

    assert public_created["location"] == expected


def test_public_url_sets_meta_location(
    public_relay: Relay, public_created: dict[str, Any]
) -> None:
    user_id = public_created["body"]["id"]
    expected = f"{PUBLIC_URL}/scim/v2/{public_relay.integration_id}/Users/{user_id}"

    assert public_created["body"]["meta"]["location"] == expected


def test_bulk_operation_locations_point_at_relay(relay: Relay) -> None:
    bulk = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "first",
                "data": {
                    "schemas": [USER_SCHEMA],
                    "userName": f"bulk-{secrets.token_hex(4)}",
                },
            }
        ],
    }
    with relay.client() as client:
        response = client.post("/Bulk", json=bulk)

    assert response.status_code == 200, response.text
    operation = response.json()["Operations"][0]
    assert operation["status"] == "201"
    assert operation["location"].startswith(f"{relay.scim_url}/Users/")


def test_search_meta_locations_point_at_relay(
    relay: Relay, created: httpx.Response
) -> None:
    search = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": f'userName eq "{created.json()["userName"]}"',
    }
    with relay.client() as client:
        response = client.post("/Users/.search", json=search)

    assert response.status_code == 200, response.text
    resources = response.json()["Resources"]
    assert len(resources) == 1
    assert resources[0]["meta"]["location"] == created.headers["location"]
