"""Two relay processes share one integration's budget through Redis."""

from __future__ import annotations

import time

from tests.conftest import RelayFactory
from tests.resilience.conftest import DOWNSTREAM_TOKEN, assert_scim_error, fault_stats
from tests.support.processes import ManagedProcess
from tests.support.relay import Relay

REDIS_URL = "redis://127.0.0.1:6379/0"


def test_a_daily_budget_holds_across_two_relays(
    relay_factory: RelayFactory, faults: ManagedProcess
) -> None:
    first = relay_factory(
        f"{faults.url}/shared", DOWNSTREAM_TOKEN, env={"SCIMRELAY_REDIS_URL": REDIS_URL}
    )
    first.cli.json(
        "integration", "limits", str(first.integration["id"]), "--per-day", "10"
    )
    second = Relay(first.cli, first.data_dir, first.tenant_id, first.integration)
    second.serve(first.data_dir.parent / "logs-second")
    time.sleep(1.0)  # Both reload the configuration within 0.5 s.

    statuses = []
    refused = []
    with first.client() as one, second.client() as two:
        for number in range(30):
            response = (one if number % 2 else two).get("/Users")
            statuses.append(response.status_code)
            if response.status_code == 429:
                refused.append(response)
    state = first.cli.json("integration", "status", str(first.integration["id"]))
    second.stop()

    assert statuses.count(200) == 10
    assert statuses.count(429) == 20
    assert fault_stats(faults)["shared GET"] == 10
    assert_scim_error(refused[0], 429)
    assert state["backend"] == "redis"
    assert state["requests_today"] == 10
