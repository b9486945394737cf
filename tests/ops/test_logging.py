"""Structured logs: each line of a request names its request, tenant and integration."""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx

from scimrelay.integrations.keys import split_key
from tests.conftest import RelayFactory, ScimServer
from tests.support.relay import Relay

REQUEST_KEYS = ("request_id", "tenant_id", "integration_id")


def send_mixed_requests(relay: Relay) -> dict[str, int]:
    """Send requests that succeed, fail downstream, fail locally and fail auth."""
    responses: list[httpx.Response] = []
    with relay.client() as client:
        responses.append(client.get("/Users", params={"count": "1"}))
        responses.append(client.get(f"/Users/{secrets.token_hex(8)}"))
        responses.append(
            client.post(
                "/Users",
                content=b"{not json",
                headers={"Content-Type": "application/scim+json"},
            )
        )
    with relay.client(api_key="scimrelay_0000000000000000_wrong") as client:
        responses.append(client.get("/Users"))
    return {
        response.headers["x-request-id"]: response.status_code for response in responses
    }


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_json_lines_carry_request_ids(relay: Relay) -> None:
    statuses = send_mixed_requests(relay)
    relay.wait_for_logs(
        lambda entries: set(statuses) <= {entry["request_id"] for entry in entries}
    )

    assert relay.process is not None
    lines = json_lines(relay.process.stderr())
    request_lines = [line for line in lines if line.get("request_id") in statuses]
    relayed = {rid for rid, status in statuses.items() if status in (200, 404)}

    assert {line["request_id"] for line in request_lines} >= relayed
    for line in request_lines:
        assert set(REQUEST_KEYS) <= line.keys(), line
        if line["request_id"] in relayed:
            assert line["tenant_id"] == relay.tenant_id, line
            assert line["integration_id"] == relay.integration_id, line
    downstream_calls = [
        line for line in lines if line.get("logger") == "scimrelay.relay.client"
    ]
    assert downstream_calls
    assert all(set(REQUEST_KEYS) <= line.keys() for line in downstream_calls)


def test_logs_hold_no_secret(relay: Relay, scim_server: ScimServer) -> None:
    send_mixed_requests(relay)

    output = relay.output()

    key_parts = split_key(relay.api_key)
    assert key_parts is not None
    assert relay.api_key not in output
    assert key_parts[1] not in output
    assert scim_server.token not in output


def test_console_format_is_readable(relay_factory: RelayFactory) -> None:
    relay = relay_factory(env={"SCIMRELAY_LOG_FORMAT": "console"})
    with relay.client() as client:
        request_id = client.get("/Users").headers["x-request-id"]

    lines = relay.output().splitlines()
    call = next(line for line in lines if "downstream call" in line)

    assert not call.lstrip().startswith("{")
    assert f"request_id={request_id}" in call
    assert f"tenant_id={relay.tenant_id}" in call
    assert f"integration_id={relay.integration_id}" in call
