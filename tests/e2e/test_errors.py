"""Errors the relay returns as RFC 7644 section 3.12 SCIM error bodies.

One relay with a small body limit and a one second downstream timeout serves
every test here. Each failure mode gets its own integration and downstream.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import DownstreamFactory, RelayFactory
from tests.support.processes import free_port
from tests.support.relay import Relay

MAX_BODY_BYTES = 4096
DOWNSTREAM_TIMEOUT = 1.0
SLOW_DELAY = 10.0
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
SCIM_HEADERS = {"Content-Type": "application/scim+json"}


@pytest.fixture(scope="module")
def relay(relay_factory: RelayFactory) -> Relay:
    """A relay with a 4 KiB body limit and a one second downstream timeout."""
    return relay_factory(
        env={
            "SCIMRELAY_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
            "SCIMRELAY_DOWNSTREAM_TIMEOUT": str(DOWNSTREAM_TIMEOUT),
        }
    )


def assert_scim_error(response: httpx.Response, status: int) -> dict[str, Any]:
    """Check ``response`` is a SCIM error with ``status`` and return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body: dict[str, Any] = response.json()
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == str(status)

    return body


def padded_user(size: int) -> bytes:
    """Return a JSON user whose encoding is at least ``size`` bytes long."""
    user = {"schemas": [USER_SCHEMA], "userName": "padded", "nickName": "x" * size}

    return json.dumps(user).encode()


def test_malformed_json_is_invalid_syntax(relay: Relay) -> None:
    with relay.client() as client:
        response = client.post("/Users", content=b'{"userName": ', headers=SCIM_HEADERS)

    body = assert_scim_error(response, 400)
    assert body["scimType"] == "invalidSyntax"


def test_invalid_utf8_body_is_invalid_syntax(relay: Relay) -> None:
    with relay.client() as client:
        response = client.post("/Users", content=b"\xff\xfe{}", headers=SCIM_HEADERS)

    body = assert_scim_error(response, 400)
    assert body["scimType"] == "invalidSyntax"


def test_json_array_body_is_invalid_syntax(relay: Relay) -> None:
    with relay.client() as client:
        response = client.post("/Users", content=b"[1, 2]", headers=SCIM_HEADERS)

    body = assert_scim_error(response, 400)
    assert body["scimType"] == "invalidSyntax"


def test_body_under_limit_is_forwarded(relay: Relay) -> None:
    user = {"schemas": [USER_SCHEMA], "userName": f"small-{secrets.token_hex(4)}"}
    with relay.client() as client:
        response = client.post("/Users", json=user)

    assert response.status_code == 201, response.text


def test_oversized_body_is_413(relay: Relay) -> None:
    with relay.client() as client:
        response = client.post(
            "/Users", content=padded_user(MAX_BODY_BYTES * 2), headers=SCIM_HEADERS
        )

    assert_scim_error(response, 413)


def test_oversized_chunked_body_is_413(relay: Relay) -> None:
    def chunks() -> Iterator[bytes]:
        body = padded_user(MAX_BODY_BYTES * 2)
        for start in range(0, len(body), 1024):
            yield body[start : start + 1024]

    with relay.client() as client:
        response = client.post("/Users", content=chunks(), headers=SCIM_HEADERS)

    assert "content-length" not in response.request.headers
    assert_scim_error(response, 413)


def test_unreachable_downstream_is_502(relay: Relay) -> None:
    closed = f"http://127.0.0.1:{free_port()}/scim/v2"
    integration = relay.create_integration(closed, "unused-token")
    with relay.client(integration=integration) as client:
        response = client.get("/Users")

    assert_scim_error(response, 502)


def test_slow_downstream_is_504(
    relay: Relay, downstream_factory: DownstreamFactory
) -> None:
    slow = downstream_factory("slow", "--delay", str(SLOW_DELAY))
    integration = relay.create_integration(f"{slow.url}/v2", "unused-token")
    started = time.monotonic()
    with relay.client(integration=integration) as client:
        response = client.get("/Users")
    elapsed = time.monotonic() - started

    assert_scim_error(response, 504)
    assert elapsed < SLOW_DELAY / 2


@pytest.fixture(scope="module")
def html_downstream(downstream_factory: DownstreamFactory) -> str:
    return downstream_factory("html").url


@pytest.mark.parametrize("status", [500, 502, 503])
def test_html_error_page_becomes_scim_error(
    relay: Relay, html_downstream: str, status: int
) -> None:
    integration = relay.create_integration(
        f"{html_downstream}/{status}/scim/v2", "unused-token"
    )
    with relay.client(integration=integration) as client:
        response = client.get("/Users")

    body = assert_scim_error(response, status)
    detail = body.get("detail", "")
    assert detail
    assert "<" not in detail
    assert ">" not in detail
    assert len(detail) <= 300


def test_html_not_found_becomes_scim_404(relay: Relay, html_downstream: str) -> None:
    integration = relay.create_integration(
        f"{html_downstream}/404/scim/v2", "unused-token"
    )
    with relay.client(integration=integration) as client:
        response = client.get("/Users/2819c223")

    assert_scim_error(response, 404)


def test_downstream_scim_error_passes_through(relay: Relay) -> None:
    with relay.client() as client:
        response = client.get(f"/Users/{secrets.token_hex(8)}")

    assert_scim_error(response, 404)


def test_error_carries_request_id(relay: Relay) -> None:
    with relay.client() as client:
        response = client.post("/Users", content=b"{", headers=SCIM_HEADERS)

    assert response.headers.get("x-request-id")
