"""Input the relay refuses with a SCIM error, keeping the connection usable."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from scimrelay.scim.limits import STREAMED_CHECK_BYTES
from tests.conftest import RelayFactory
from tests.resilience.conftest import DOWNSTREAM_TOKEN
from tests.support.processes import ManagedProcess
from tests.support.relay import Relay


@pytest.fixture(scope="module")
def relay(relay_factory: RelayFactory, faults: ManagedProcess) -> Relay:
    return relay_factory(f"{faults.url}/ok", DOWNSTREAM_TOKEN)


class Connection:
    """One keep-alive HTTP/1.1 connection, to prove it outlives a refusal."""

    def __init__(self, relay: Relay) -> None:
        assert relay.process is not None
        self.relay = relay
        self.sock = socket.create_connection(("127.0.0.1", relay.process.port))
        self.buffer = b""

    def send(
        self, method: str, extra_headers: list[str] | None = None, body: bytes = b""
    ) -> tuple[int, dict[str, str], bytes]:
        path = self.relay.integration["scim_base_path"] + "/Users"
        lines = [
            f"{method} {path} HTTP/1.1",
            "Host: relay.test",
            f"Authorization: Bearer {self.relay.api_key}",
            "Content-Type: application/scim+json",
            f"Content-Length: {len(body)}",
            *(extra_headers or []),
        ]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        return self.read()

    def read(self) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.recv()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in header_lines)
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            self.buffer += self.recv()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(status_line.split()[1]), headers, body

    def recv(self) -> bytes:
        data = self.sock.recv(65536)
        assert data, "the relay closed the connection"
        return data

    def close(self) -> None:
        self.sock.close()


def refused_then_served(
    relay: Relay, method: str, headers: list[str], body: bytes = b""
) -> tuple[int, dict[str, Any]]:
    """Send a bad request, then a good one on the same connection."""
    connection = Connection(relay)
    try:
        status, _, answer = connection.send(method, headers, body)
        follow_up, _, _ = connection.send("GET")
    finally:
        connection.close()
    assert follow_up == 200
    return status, json.loads(answer)


def test_too_many_headers_is_431_and_the_connection_lives(relay: Relay) -> None:
    headers = [f"X-Filler-{number}: x" for number in range(120)]

    status, document = refused_then_served(relay, "GET", headers)

    assert status == 431
    assert document["status"] == "431"
    assert "at most 100" in document["detail"]


def test_too_large_headers_is_431(relay: Relay) -> None:
    status, document = refused_then_served(relay, "GET", ["X-Big: " + "a" * 40_000])

    assert status == 431
    assert "at most 32768" in document["detail"]


def test_json_nested_too_deep_is_400_invalid_syntax(relay: Relay) -> None:
    body = b'{"schemas":' + b"[" * 200 + b"]" * 200 + b"}"

    status, document = refused_then_served(relay, "POST", [], body)

    assert status == 400
    assert document["scimType"] == "invalidSyntax"
    assert "nested deeper than 32" in document["detail"]


def large_user(tail: bytes) -> bytes:
    """Return a POST body over the size checked without parsing, ending in ``tail``."""
    padding = b"x" * (STREAMED_CHECK_BYTES + 1024)
    return b'{"userName":"large","nickName":"' + padding + b'"' + tail


def test_large_malformed_json_is_invalid_syntax(relay: Relay) -> None:
    status, document = refused_then_served(relay, "POST", [], large_user(b',"a":'))

    assert status == 400
    assert document["scimType"] == "invalidSyntax"
    assert "not valid JSON" in document["detail"]


def test_large_deep_json_is_invalid_syntax(relay: Relay) -> None:
    body = large_user(b',"deep":' + b"[" * 200 + b"]" * 200 + b"}")

    status, document = refused_then_served(relay, "POST", [], body)

    assert status == 400
    assert document["scimType"] == "invalidSyntax"
    assert "nested deeper than 32" in document["detail"]


def test_body_over_the_limit_is_413_and_the_connection_lives(relay: Relay) -> None:
    status, document = refused_then_served(relay, "POST", [], b"x" * (17 << 20))

    assert status == 413
    assert document["status"] == "413"


def test_a_50000_member_patch_is_accepted(relay: Relay) -> None:
    members = [{"value": f"{number:036d}"} for number in range(50_000)]
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": members}],
    }

    with relay.client() as client:
        response = client.patch("/Groups/g1", json=patch)

    assert response.status_code == 200, response.text
