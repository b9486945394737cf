"""API key authentication of the SCIM endpoint, and key rotation.

Every rejected request gets the same 401 SCIM error, so that an identity
provider, or anyone else, cannot tell a wrong key from an unknown integration.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import ScimServer
from tests.support.relay import Relay, describe_cli


@dataclass(frozen=True)
class Rejection:
    """One unauthenticated request: its name, headers and target integration id."""

    name: str
    headers: dict[str, str]
    integration_id: str | None = None


def altered_key(api_key: str) -> str:
    """Return ``api_key`` with its last characters changed."""
    replacement = "AAAA" if not api_key.endswith("AAAA") else "BBBB"

    return api_key[:-4] + replacement


@pytest.fixture(scope="module")
def other_integration(relay: Relay, scim_server: ScimServer) -> dict[str, Any]:
    return relay.create_integration(scim_server.new_tenant_url(), scim_server.token)


@dataclass
class Rotation:
    """The keys of an integration before and after ``rotate-key`` and ``revoke-key``."""

    integration: dict[str, Any]
    old_key: str
    new_key: str
    statuses_after_rotate: dict[str, int]


def key_works(relay: Relay, integration: dict[str, Any], api_key: str) -> int:
    with relay.client(api_key, integration) as client:
        return client.get("/Users").status_code


@pytest.fixture(scope="module")
def rotation(relay: Relay, scim_server: ScimServer) -> Rotation:
    """Rotate an integration's key, check both keys, then revoke the old one."""
    integration = relay.create_integration(
        scim_server.new_tenant_url(), scim_server.token
    )
    old_key = integration["api_key"]
    rotated = relay.cli.json("integration", "rotate-key", integration["id"])
    new_key = rotated["api_key"]
    relay.wait_for_key(integration, new_key, accepted=True)
    statuses = {
        "old": key_works(relay, integration, old_key),
        "new": key_works(relay, integration, new_key),
    }

    details = relay.cli.json("integration", "show", integration["id"])
    old_ids = [key["id"] for key in details["keys"] if key["id"] != rotated["key_id"]]
    assert len(old_ids) == 1, details["keys"]
    relay.cli.json("integration", "revoke-key", integration["id"], old_ids[0])
    relay.wait_for_key(integration, old_key, accepted=False)

    return Rotation(integration, old_key, new_key, statuses)


def test_rotate_key_returns_new_key(rotation: Rotation) -> None:
    assert rotation.new_key != rotation.old_key


def test_old_key_works_until_revoked(rotation: Rotation) -> None:
    assert rotation.statuses_after_rotate["old"] == 200


def test_rotated_key_works(rotation: Rotation) -> None:
    assert rotation.statuses_after_rotate["new"] == 200


def test_new_key_works_after_old_revoked(relay: Relay, rotation: Rotation) -> None:
    assert key_works(relay, rotation.integration, rotation.new_key) == 200


@pytest.fixture(scope="module")
def rejections(
    relay: Relay, other_integration: dict[str, Any], rotation: Rotation
) -> list[Rejection]:
    revoked = {"Authorization": f"Bearer {rotation.old_key}"}
    return [
        Rejection("missing", {}),
        Rejection("basic scheme", {"Authorization": "Basic dXNlcjpwYXNzd29yZA=="}),
        Rejection("bearer without key", {"Authorization": "Bearer"}),
        Rejection("malformed", {"Authorization": "Bearer not-a-relay-key"}),
        Rejection("wrong", {"Authorization": f"Bearer {altered_key(relay.api_key)}"}),
        Rejection("revoked", revoked, rotation.integration["id"]),
        Rejection(
            "other integration's",
            {"Authorization": f"Bearer {other_integration['api_key']}"},
        ),
        Rejection(
            "unknown integration",
            {"Authorization": f"Bearer {relay.api_key}"},
            str(uuid.uuid4()),
        ),
    ]


def send_rejected(relay: Relay, rejection: Rejection) -> httpx.Response:
    integration_id = rejection.integration_id or relay.integration_id
    url = f"{relay.base_url}/scim/v2/{integration_id}/Users"
    with httpx.Client(trust_env=False, timeout=30.0) as client:
        return client.get(url, headers=rejection.headers)


@pytest.fixture(scope="module")
def rejected(relay: Relay, rejections: list[Rejection]) -> dict[str, httpx.Response]:
    return {rejection.name: send_rejected(relay, rejection) for rejection in rejections}


def test_every_rejection_is_401(rejected: dict[str, httpx.Response]) -> None:
    statuses = {name: response.status_code for name, response in rejected.items()}

    assert statuses == {name: 401 for name in rejected}


def test_every_rejection_asks_for_bearer(rejected: dict[str, httpx.Response]) -> None:
    for name, response in rejected.items():
        challenge = response.headers.get("www-authenticate", "")
        assert challenge.lower().startswith("bearer"), name


def test_every_rejection_is_scim_error(rejected: dict[str, httpx.Response]) -> None:
    for name, response in rejected.items():
        body = response.json()
        assert response.headers["content-type"].startswith("application/scim+json")
        assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"], name
        assert body["status"] == "401", name


def test_every_rejection_has_request_id(rejected: dict[str, httpx.Response]) -> None:
    for name, response in rejected.items():
        assert response.headers.get("x-request-id"), name


def test_rejection_bodies_are_identical(rejected: dict[str, httpx.Response]) -> None:
    bodies = {name: response.content for name, response in rejected.items()}

    assert len(set(bodies.values())) == 1, bodies


def test_rejection_leaks_no_key(
    relay: Relay, other_integration: dict[str, Any], rejected: dict[str, httpx.Response]
) -> None:
    for response in rejected.values():
        assert relay.api_key not in response.text
        assert other_integration["api_key"] not in response.text


def test_deleted_integration_key_is_rejected(
    relay: Relay, scim_server: ScimServer, rejected: dict[str, httpx.Response]
) -> None:
    integration = relay.create_integration(
        scim_server.new_tenant_url(), scim_server.token
    )
    completed = relay.cli.run("integration", "delete", integration["id"])
    assert completed.returncode == 0, describe_cli(completed)
    relay.wait_for_key(integration, integration["api_key"], accepted=False)

    with relay.client(integration=integration) as client:
        response = client.get("/Users")

    assert response.status_code == 401
    assert response.content == rejected["missing"].content
