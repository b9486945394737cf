"""A deleted integration's breaker and rate-limit series leave ``/metrics``.

Each relay runs with one worker, where the series are removed, and with two,
where prometheus-client keeps them in files shared by the workers and the
scrape leaves them out.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import RelayFactory
from tests.resilience.conftest import DOWNSTREAM_TOKEN, add_integration
from tests.support.cluster import instance, serve_instance
from tests.support.processes import ManagedProcess
from tests.support.relay import Relay

REMOVAL_WAIT = 10.0
PER_INTEGRATION = (
    "scimrelay_circuit_breaker_state",
    "scimrelay_circuit_breaker_changes_total",
    "scimrelay_rate_limited_total",
)


def series_of(relay: Relay, integration_id: str) -> set[str]:
    """Return the names of the samples in ``/metrics`` labelled with the id."""
    with httpx.Client(trust_env=False, timeout=10) as client:
        response = client.get(f"{relay.base_url}/metrics")
    assert response.status_code == 200
    return {
        sample.name
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.labels.get("integration") == integration_id
    }


def open_breaker_and_hit_limit(relay: Relay, integration: dict[str, Any]) -> None:
    """Open the breaker with one failed POST, then spend the per-second budget."""
    relay.cli.json(
        "integration",
        "limits",
        str(integration["id"]),
        "--breaker-failures",
        "1",
        "--per-second",
        "0.1",
    )
    time.sleep(1.0)  # The relay reloads its configuration every 0.5 s.
    # One client keeps one connection, so one worker handles both requests.
    with relay.client(integration=integration) as client:
        failed = client.post("/Users", json={"userName": "opens"})
        limited = client.post("/Users", json={"userName": "limited"})
    assert (failed.status_code, limited.status_code) == (503, 429)


def wait_until_gone(relay: Relay, integration_id: str) -> set[str]:
    deadline = time.monotonic() + REMOVAL_WAIT
    left = series_of(relay, integration_id)
    while left and time.monotonic() < deadline:
        time.sleep(0.25)
        left = series_of(relay, integration_id)
    return left


@pytest.mark.parametrize("workers", ["1", "2"])
def test_deleted_integration_series_removed(
    relay_factory: RelayFactory, faults: ManagedProcess, workers: str
) -> None:
    setup = relay_factory(f"{faults.url}/ok", DOWNSTREAM_TOKEN)
    setup.stop()
    logs = setup.data_dir.parent / f"logs-{workers}"
    process = serve_instance(setup.cli, logs, "--workers", workers)
    relay = instance(setup.cli, process, setup.tenant_id, setup.integration)
    try:
        remaining = add_integration(relay, f"{faults.url}/unavailable")
        deleted = add_integration(relay, f"{faults.url}/unavailable")
        open_breaker_and_hit_limit(relay, remaining)
        open_breaker_and_hit_limit(relay, deleted)
        before = series_of(relay, str(deleted["id"]))

        relay.cli.json("integration", "delete", str(deleted["id"]))
        left = wait_until_gone(relay, str(deleted["id"]))
        remaining_series = series_of(relay, str(remaining["id"]))
    finally:
        process.stop()

    assert set(PER_INTEGRATION) <= before
    assert left == set()
    assert set(PER_INTEGRATION) <= remaining_series
