"""``/metrics`` scraped from a relay with two worker processes.

The figures must add up over both workers, whichever worker answers the
scrape, and match the requests the test sent.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ScimServer
from tests.support.cluster import instance, serve_instance
from tests.support.relay import Cli, Relay, relay_environment

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
USERS_LISTED = 12
USERS_CREATED = 3
USERS_MISSING = 2
UNAUTHORIZED = 2


@dataclass
class Scraped:
    samples: Samples

    def value(self, name: str, **labels: str) -> float:
        return self.samples.get((name, frozenset(labels.items())), 0.0)


def scrape(relay: Relay) -> Scraped:
    with httpx.Client(trust_env=False, timeout=10) as client:
        response = client.get(f"{relay.base_url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return Scraped(samples)


@pytest.fixture(scope="module")
def relay(
    scim_server: ScimServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Relay]:
    root = tmp_path_factory.mktemp("metrics")
    cli = Cli(relay_environment(root / "data", {}), cwd=root)
    tenant_id = str(cli.json("tenant", "create", "acme")["id"])
    setup = Relay(cli=cli, data_dir=root / "data", tenant_id=tenant_id, integration={})
    integration = setup.create_integration(
        scim_server.new_tenant_url(), scim_server.token
    )
    process = serve_instance(cli, root / "logs", "--workers", "2")
    yield instance(cli, process, tenant_id, integration)
    process.stop()


def send_traffic(relay: Relay) -> set[str]:
    """Send the requests the figures are checked against; return their ids."""
    responses = []
    # A client per request opens a new connection, so both workers take some.
    for _ in range(USERS_LISTED):
        with relay.client() as client:
            responses.append(client.get("/Users", params={"count": "1"}))
    for number in range(USERS_CREATED):
        user = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": f"metrics{number}-{secrets.token_hex(4)}@example.com",
        }
        with relay.client() as client:
            responses.append(client.post("/Users", json=user))
    for _ in range(USERS_MISSING):
        with relay.client() as client:
            responses.append(client.get(f"/Users/{secrets.token_hex(8)}"))
    for _ in range(UNAUTHORIZED):
        with relay.client(api_key="scimrelay_0000000000000000_wrong") as client:
            responses.append(client.get("/Users"))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == sorted(
        [200] * USERS_LISTED
        + [201] * USERS_CREATED
        + [404] * USERS_MISSING
        + [401] * UNAUTHORIZED
    )
    return {response.headers["x-request-id"] for response in responses}


@pytest.fixture(scope="module")
def scraped(relay: Relay) -> list[Scraped]:
    """Three scrapes after the traffic, once both workers wrote their log."""
    request_ids = send_traffic(relay)
    relay.wait_for_logs(
        lambda entries: request_ids <= {entry["request_id"] for entry in entries}
    )
    time.sleep(1.5)  # Each worker samples its request log gauges every second.
    return [scrape(relay) for _ in range(3)]


def test_requests_counted_by_labels(relay: Relay, scraped: list[Scraped]) -> None:
    integration = relay.integration_id
    for figures in scraped:
        counted = {
            (method, status): figures.value(
                "scimrelay_requests_total",
                integration=integration,
                method=method,
                resource_type="Users",
                status=status,
            )
            for method, status in [("GET", "200"), ("POST", "201"), ("GET", "404")]
        }
        assert counted == {
            ("GET", "200"): USERS_LISTED,
            ("POST", "201"): USERS_CREATED,
            ("GET", "404"): USERS_MISSING,
        }


def test_unauthenticated_requests_have_no_integration(
    scraped: list[Scraped],
) -> None:
    for figures in scraped:
        rejected = figures.value(
            "scimrelay_requests_total",
            integration="none",
            method="GET",
            resource_type="Users",
            status="401",
        )
        assert rejected == UNAUTHORIZED


def test_downstream_latency_histogram_counts_calls(
    relay: Relay, scraped: list[Scraped]
) -> None:
    name = "scimrelay_downstream_duration_seconds"
    integration = relay.integration_id
    for figures in scraped:
        gets = figures.value(f"{name}_count", integration=integration, method="GET")
        posts = figures.value(f"{name}_count", integration=integration, method="POST")
        slowest_bucket = figures.value(
            f"{name}_bucket", integration=integration, method="GET", le="+Inf"
        )
        assert gets == USERS_LISTED + USERS_MISSING
        assert posts == USERS_CREATED
        assert slowest_bucket == gets
        assert figures.value(f"{name}_sum", integration=integration, method="GET") > 0


def test_request_log_queue_is_drained(scraped: list[Scraped]) -> None:
    for figures in scraped:
        assert ("scimrelay_request_log_queue_depth", frozenset()) in figures.samples
        assert figures.value("scimrelay_request_log_queue_depth") == 0
        assert figures.value("scimrelay_request_log_lag_seconds") == 0


def test_config_version_is_reported(relay: Relay) -> None:
    # The lowest version over the workers; a worker still starting reports 0.
    deadline = time.monotonic() + 30
    version = scrape(relay).value("scimrelay_config_version")
    while version < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
        version = scrape(relay).value("scimrelay_config_version")

    assert version >= 2
