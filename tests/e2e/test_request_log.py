"""The request log: what each entry records, and which secrets it never keeps.

The secrets are the downstream token, a custom header value, the relay API key
and the ``password`` attribute. None of them may appear in ``scimrelay logs``,
in anything the server printed, or in any file of the data folder, where the
SQLite database lives.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import RelayFactory, ScimServer
from tests.support.relay import Relay

HEADER_VALUE = f"header-secret-{secrets.token_hex(10)}"
CREATE_PASSWORD = f"create-password-{secrets.token_hex(10)}"
PATCH_PASSWORD = f"patch-password-{secrets.token_hex(10)}"
BULK_PASSWORD = f"bulk-password-{secrets.token_hex(10)}"
LOG_KEYS = {
    "time",
    "request_id",
    "tenant_id",
    "integration_id",
    "method",
    "path",
    "query",
    "status",
    "downstream_status",
    "duration_ms",
    "downstream_ms",
    "client",
    "error",
    "request_body",
    "response_body",
}
FLUSH_SECONDS = 3.0
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass
class Traffic:
    """The request ids of the requests sent to the logging relay."""

    create_id: str
    patch_id: str
    bulk_id: str
    search_id: str
    search_query: str
    user_id: str


def send_traffic(client: httpx.Client) -> Traffic:
    """Send passwords on create, in a PATCH and in a bulk request, then search."""
    user = {
        "schemas": [USER_SCHEMA],
        "userName": f"logged-{secrets.token_hex(4)}",
        "password": CREATE_PASSWORD,
    }
    created = client.post("/Users", json=user)
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]

    patch = {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "replace", "path": "password", "value": PATCH_PASSWORD}],
    }
    patched = client.patch(f"/Users/{user_id}", json=patch)
    assert patched.status_code in (200, 204), patched.text

    bulk = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "logged",
                "data": {
                    "schemas": [USER_SCHEMA],
                    "userName": f"bulk-{secrets.token_hex(4)}",
                    "password": BULK_PASSWORD,
                },
            }
        ],
    }
    bulked = client.post("/Bulk", json=bulk)
    assert bulked.status_code == 200, bulked.text

    query = f"filter=userName%20eq%20%22{user['userName']}%22&count=5"
    searched = client.get(f"/Users?{query}")
    assert searched.status_code == 200, searched.text

    return Traffic(
        create_id=created.headers["x-request-id"],
        patch_id=patched.headers["x-request-id"],
        bulk_id=bulked.headers["x-request-id"],
        search_id=searched.headers["x-request-id"],
        search_query=query,
        user_id=user_id,
    )


@pytest.fixture(scope="module")
def relay(relay_factory: RelayFactory) -> Relay:
    return relay_factory(headers=[f"X-Api-Secret: {HEADER_VALUE}"])


@pytest.fixture(scope="module")
def traffic(relay: Relay) -> Traffic:
    with relay.client() as client:
        return send_traffic(client)


@pytest.fixture(scope="module")
def entries(relay: Relay, traffic: Traffic) -> dict[str, dict[str, Any]]:
    """Return the log entries of the traffic, by name."""
    return {
        "create": relay.log_entry(traffic.create_id),
        "patch": relay.log_entry(traffic.patch_id),
        "bulk": relay.log_entry(traffic.bulk_id),
        "search": relay.log_entry(traffic.search_id),
    }


def test_entry_has_every_documented_key(entries: dict[str, dict[str, Any]]) -> None:
    for entry in entries.values():
        assert entry.keys() >= LOG_KEYS


def test_create_entry_records_request(
    relay: Relay, entries: dict[str, dict[str, Any]]
) -> None:
    entry = entries["create"]

    assert entry["method"] == "POST"
    assert entry["path"] == f"/scim/v2/{relay.integration_id}/Users"
    assert entry["status"] == 201
    assert entry["downstream_status"] == 201
    assert entry["integration_id"] == relay.integration_id
    assert entry["tenant_id"] == relay.tenant_id
    assert entry["error"] is None


def test_create_entry_masks_password(entries: dict[str, dict[str, Any]]) -> None:
    request_body = entries["create"]["request_body"]

    assert CREATE_PASSWORD not in request_body
    assert "[secure]" in request_body
    assert "userName" in request_body


def test_patch_entry_masks_password_value(entries: dict[str, dict[str, Any]]) -> None:
    request_body = entries["patch"]["request_body"]

    assert PATCH_PASSWORD not in request_body
    assert "[secure]" in request_body


def test_bulk_entry_masks_password(entries: dict[str, dict[str, Any]]) -> None:
    request_body = entries["bulk"]["request_body"]

    assert BULK_PASSWORD not in request_body
    assert "[secure]" in request_body


def test_search_entry_records_query(
    traffic: Traffic, entries: dict[str, dict[str, Any]]
) -> None:
    entry = entries["search"]

    assert entry["method"] == "GET"
    assert entry["query"] == traffic.search_query
    assert traffic.user_id in entry["response_body"]


def test_entries_are_newest_first(relay: Relay, traffic: Traffic) -> None:
    ids = [entry["request_id"] for entry in relay.logs(relay.integration_id)]
    sent = [traffic.create_id, traffic.patch_id, traffic.bulk_id, traffic.search_id]
    positions = [ids.index(request_id) for request_id in sent]

    assert positions == sorted(positions, reverse=True)


def test_logs_filter_by_integration(
    relay: Relay, scim_server: ScimServer, traffic: Traffic
) -> None:
    other = relay.create_integration(scim_server.new_tenant_url(), scim_server.token)
    with relay.client(integration=other) as client:
        other_id = client.get("/Users").headers["x-request-id"]
    relay.log_entry(other_id)

    filtered = relay.logs(relay.integration_id)

    assert {entry["integration_id"] for entry in filtered} == {relay.integration_id}
    assert other_id not in {entry["request_id"] for entry in filtered}


def test_logs_limit_caps_entries(relay: Relay, traffic: Traffic) -> None:
    assert len(relay.logs(limit=2)) == 2


def test_logs_table_shows_entry_ids(relay: Relay, traffic: Traffic) -> None:
    """The table gives the id that ``scimrelay logs replay`` takes."""
    newest = relay.logs(limit=1)[0]
    completed = relay.cli.run("logs", "--limit", "1")
    heading, row = completed.stdout.splitlines()[:2]

    assert heading.split()[0] == "ID"
    assert row.split()[0] == str(newest["id"])


def test_entry_appears_while_running(relay: Relay) -> None:
    with relay.client() as client:
        request_id = client.get("/ServiceProviderConfig").headers["x-request-id"]

    found = relay.wait_for_logs(
        lambda entries: request_id in {entry["request_id"] for entry in entries},
        timeout=FLUSH_SECONDS,
    )

    assert request_id in {entry["request_id"] for entry in found}


@dataclass(frozen=True)
class Places:
    """Everything a secret could leak into, read after the relay stopped."""

    logs_json: str
    server_output: str
    data_files: bytes


def read_data_files(data_dir: Path) -> bytes:
    """Return the bytes of every file in the data folder, database included."""
    files = sorted(path for path in data_dir.rglob("*") if path.is_file())
    assert any(path.suffix == ".db" for path in files), files

    return b"".join(path.read_bytes() for path in files)


@pytest.fixture(scope="module")
def places(relay: Relay, entries: dict[str, dict[str, Any]]) -> Places:
    """Stop the relay, so its output and database are complete, then read them.

    The relay stays stopped, so the tests that use this fixture come last.
    """
    relay.stop()

    return Places(
        logs_json=relay.cli.run("logs", "--limit", "500", "--json").stdout,
        server_output=relay.output(),
        data_files=read_data_files(relay.data_dir),
    )


def secret_values(relay: Relay, scim_server: ScimServer) -> dict[str, str]:
    return {
        "downstream token": scim_server.token,
        "custom header value": HEADER_VALUE,
        "api key": relay.api_key,
        "created password": CREATE_PASSWORD,
        "patched password": PATCH_PASSWORD,
        "bulk password": BULK_PASSWORD,
    }


def test_logs_output_has_no_secret(
    relay: Relay, scim_server: ScimServer, places: Places
) -> None:
    assert places.logs_json.count("request_id") >= 4
    for name, value in secret_values(relay, scim_server).items():
        assert value not in places.logs_json, name


def test_server_output_has_no_secret(
    relay: Relay, scim_server: ScimServer, places: Places
) -> None:
    assert places.server_output
    for name, value in secret_values(relay, scim_server).items():
        assert value not in places.server_output, name


def test_data_files_have_no_secret(
    relay: Relay, scim_server: ScimServer, places: Places
) -> None:
    for name, value in secret_values(relay, scim_server).items():
        assert value.encode() not in places.data_files, name


def test_data_files_contain_logged_traffic(traffic: Traffic, places: Places) -> None:
    assert traffic.user_id.encode() in places.data_files
