"""Two relay processes share one integration's budget and breaker through Redis.

Each test runs on SQLite and on a new PostgreSQL database as the store.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping

import pytest

from tests.conftest import RelayFactory
from tests.resilience.conftest import (
    DOWNSTREAM_TOKEN,
    assert_scim_error,
    control,
    fault_stats,
)
from tests.support.processes import ManagedProcess
from tests.support.relay import Relay

REDIS_URL = "redis://127.0.0.1:6379/0"
BREAKER_FAILURES = 2


@pytest.fixture
def relays(
    relay_factory: RelayFactory,
    faults: ManagedProcess,
    store_env: Mapping[str, str],
    request: pytest.FixtureRequest,
) -> Iterator[tuple[Relay, Relay]]:
    """Serve two relays on one store and Redis, for an integration at a fault path.

    The fault path is the parameter, and the downstream's request counts start at 0.
    """
    path = str(request.param)
    env = {**store_env, "SCIMRELAY_REDIS_URL": REDIS_URL}
    first = relay_factory(f"{faults.url}/{path}", DOWNSTREAM_TOKEN, env=env)
    second = Relay(first.cli, first.data_dir, first.tenant_id, first.integration)
    second.serve(first.data_dir.parent / "logs-second")
    control(faults, "reset")
    yield first, second
    second.stop()
    first.stop()


def set_limits(relay: Relay, *options: str) -> None:
    relay.cli.json("integration", "limits", relay.integration_id, *options)
    time.sleep(1.0)  # Both relays reload the configuration within 0.5 s.


@pytest.mark.parametrize("relays", ["shared"], indirect=True)
def test_daily_budget_holds_across_relays(
    relays: tuple[Relay, Relay], faults: ManagedProcess
) -> None:
    first, second = relays
    set_limits(first, "--per-day", "10")

    statuses = []
    rejected = []
    with first.client() as one, second.client() as two:
        for number in range(30):
            response = (one if number % 2 else two).get("/Users")
            statuses.append(response.status_code)
            if response.status_code == 429:
                rejected.append(response)
    state = first.cli.json("integration", "status", first.integration_id)

    assert statuses.count(200) == 10
    assert statuses.count(429) == 20
    assert fault_stats(faults)["shared GET"] == 10
    assert_scim_error(rejected[0], 429)
    assert state["backend"] == "redis"
    assert state["requests_today"] == 10


@pytest.mark.parametrize("relays", ["flappy"], indirect=True)
def test_breaker_opened_in_one_relay_holds_in_other(
    relays: tuple[Relay, Relay], faults: ManagedProcess
) -> None:
    first, second = relays
    set_limits(first, "--breaker-failures", str(BREAKER_FAILURES))
    control(faults, "failing")
    try:
        with first.client() as one, second.client() as two:
            failures = [one.post("/Users", json={}) for _ in range(BREAKER_FAILURES)]
            rejected = two.post("/Users", json={"userName": "rejected"})
        calls = fault_stats(faults)["flappy POST"]
        state = second.cli.json("integration", "status", second.integration_id)
    finally:
        control(faults, "healthy")

    assert [failure.status_code for failure in failures] == [503] * BREAKER_FAILURES
    assert "circuit open" in assert_scim_error(rejected, 503)["detail"]
    assert calls == BREAKER_FAILURES
    assert state["backend"] == "redis"
    assert state["breaker"] == "open"
