"""Rate limits and the circuit breaker, seen from the provider and the CLI."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.conftest import RelayFactory
from tests.resilience.conftest import (
    DOWNSTREAM_TOKEN,
    add_integration,
    assert_scim_error,
    control,
    fault_stats,
)
from tests.support.processes import ManagedProcess
from tests.support.relay import Relay


@pytest.fixture(scope="module")
def relay(relay_factory: RelayFactory, faults: ManagedProcess) -> Relay:
    return relay_factory(f"{faults.url}/ok", DOWNSTREAM_TOKEN)


def limits(relay: Relay, integration: dict[str, Any], *options: str) -> Any:
    return relay.cli.json("integration", "limits", str(integration["id"]), *options)


def status(relay: Relay, integration: dict[str, Any]) -> Any:
    return relay.cli.json("integration", "status", str(integration["id"]))


def test_daily_budget_answers_429_until_utc_midnight_without_calling(
    relay: Relay, faults: ManagedProcess
) -> None:
    integration = add_integration(relay, f"{faults.url}/daily")
    limits(relay, integration, "--per-day", "3")
    time.sleep(1.0)  # The relay reloads its configuration every 0.5 s.

    with relay.client(integration=integration) as client:
        statuses = [client.get("/Users").status_code for _ in range(3)]
        refused = client.get("/Users")

    assert statuses == [200, 200, 200]
    assert_scim_error(refused, 429)
    seconds_to_midnight = 86_400 - int(time.time()) % 86_400
    assert abs(int(refused.headers["retry-after"]) - seconds_to_midnight) <= 2
    assert fault_stats(faults)["daily GET"] == 3
    assert status(relay, integration)["requests_today"] >= 3


def test_per_second_budget_refuses_the_excess_with_retry_after(
    relay: Relay, faults: ManagedProcess
) -> None:
    integration = add_integration(relay, f"{faults.url}/second")
    limits(relay, integration, "--per-second", "0.2")
    time.sleep(1.0)

    with relay.client(integration=integration) as client:
        responses = [client.get("/Users") for _ in range(4)]

    assert responses[0].status_code == 200
    refused = [response for response in responses if response.status_code == 429]
    assert refused, [response.status_code for response in responses]
    for response in refused:
        assert_scim_error(response, 429)
        assert 1 <= int(response.headers["retry-after"]) <= 5
    assert fault_stats(faults)["second GET"] == 4 - len(refused)


def test_breaker_opens_answers_503_at_once_then_probes_and_closes(
    relay: Relay, faults: ManagedProcess
) -> None:
    integration = add_integration(relay, f"{faults.url}/flappy")
    # Long enough for the status command to start and read the open breaker
    # within the cooldown, even on a loaded machine.
    cooldown = 20
    limits(
        relay,
        integration,
        "--breaker-failures",
        "3",
        "--breaker-cooldown",
        str(cooldown),
    )
    time.sleep(1.0)
    control(faults, "failing")
    try:
        with relay.client(integration=integration) as client:
            failures = [client.post("/Users", json={}).status_code for _ in range(3)]
            opened_at = time.monotonic()
            calls_when_opened = fault_stats(faults)["flappy POST"]
            refused = client.post("/Users", json={})
            time.sleep(1.2)  # The state file is written every second.
            opened = status(relay, integration)
            control(faults, "healthy")
            time.sleep(max(0.0, cooldown + 0.5 - (time.monotonic() - opened_at)))
            probe = client.post("/Users", json={"userName": "probe"})
            time.sleep(1.2)
            closed = status(relay, integration)
    finally:
        control(faults, "healthy")

    assert failures == [503, 503, 503]
    document = assert_scim_error(refused, 503)
    assert "circuit open" in document["detail"]
    assert int(refused.headers["retry-after"]) >= 1
    assert fault_stats(faults)["flappy POST"] == calls_when_opened + 1
    assert opened["breaker"] == "open"
    assert opened["consecutive_failures"] >= 3
    assert probe.status_code == 201
    assert closed["breaker"] == "closed"
    assert closed["consecutive_failures"] == 0


def test_limits_reject_out_of_range_values_naming_the_field(relay: Relay) -> None:
    completed = relay.cli.run(
        "integration", "limits", str(relay.integration["id"]), "--per-second", "-1"
    )

    assert completed.returncode == 2
    assert "per_second" in completed.stderr
    assert "use a number from 0 to" in completed.stderr
