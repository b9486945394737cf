"""Tenant isolation over every route: SCIM endpoint, CLI listing and logs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import RelayFactory
from tests.resilience.conftest import (
    DOWNSTREAM_TOKEN,
    assert_scim_error,
    fault_stats,
    wait_until_served,
)
from tests.support.processes import ManagedProcess
from tests.support.relay import Relay

ROUTES = [
    ("GET", "/Users"),
    ("GET", "/Users/abc"),
    ("POST", "/Users"),
    ("PUT", "/Users/abc"),
    ("PATCH", "/Groups/abc"),
    ("DELETE", "/Users/abc"),
    ("POST", "/.search"),
    ("POST", "/Bulk"),
    ("GET", "/ServiceProviderConfig"),
    ("GET", "/Schemas"),
    ("GET", "/ResourceTypes"),
    ("GET", ""),
]


@pytest.fixture(scope="module")
def tenants(
    relay_factory: RelayFactory, faults: ManagedProcess
) -> tuple[Relay, dict[str, Any], dict[str, Any]]:
    """A relay with tenant A's integration and tenant B's, on separate paths."""
    relay = relay_factory(f"{faults.url}/tenanta", DOWNSTREAM_TOKEN)
    tenant_b = relay.cli.json("tenant", "create", "tenant-b")
    integration_b = relay.cli.json(
        "integration",
        "create",
        "--tenant",
        tenant_b["id"],
        "--name",
        "b",
        "--scim-url",
        f"{faults.url}/tenantb",
        "--token-stdin",
        input=DOWNSTREAM_TOKEN,
    )
    wait_until_served(relay, integration_b)
    return relay, relay.integration, integration_b


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_one_tenants_key_never_reaches_the_other_tenant(
    tenants: tuple[Relay, dict[str, Any], dict[str, Any]],
    faults: ManagedProcess,
    method: str,
    path: str,
) -> None:
    relay, integration_a, integration_b = tenants
    for key_of, target in (
        (integration_a, integration_b),
        (integration_b, integration_a),
    ):
        with relay.client(api_key=key_of["api_key"], integration=target) as client:
            response = client.request(
                method, path, json={} if method != "GET" else None
            )

        assert_scim_error(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")
    stats = fault_stats(faults)
    assert not any(name.startswith(("tenanta", "tenantb")) for name in stats)


def test_cli_lists_only_the_named_tenants_integrations(
    tenants: tuple[Relay, dict[str, Any], dict[str, Any]],
) -> None:
    relay, integration_a, integration_b = tenants

    listed_a = relay.cli.json("integration", "list", "--tenant", relay.tenant_id)
    listed_b = relay.cli.json(
        "integration", "list", "--tenant", integration_b["tenant_id"]
    )

    assert [item["id"] for item in listed_a] == [integration_a["id"]]
    assert [item["id"] for item in listed_b] == [integration_b["id"]]


def test_logs_of_one_integration_hold_only_its_traffic(
    tenants: tuple[Relay, dict[str, Any], dict[str, Any]],
) -> None:
    relay, integration_a, integration_b = tenants
    with relay.client(integration=integration_a) as client:
        request_id = client.get("/Users").headers["x-request-id"]
    relay.log_entry(request_id)

    entries_b = relay.logs(str(integration_b["id"]))

    assert request_id not in {entry["request_id"] for entry in entries_b}
    assert all(entry["integration_id"] != integration_a["id"] for entry in entries_b)
