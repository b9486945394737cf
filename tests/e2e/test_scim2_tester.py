"""scim2-tester's checks, run against scim2-server directly and through the relay.

The relay must not lose a check: every check that passes against the
downstream itself must pass through the relay too.
"""

from __future__ import annotations

from collections import Counter

import pytest
from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import CheckResult, Status, check_server

from tests.conftest import ScimServer
from tests.support.relay import Relay

PASSING = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}
CheckKey = tuple[str | None, str | None]


def run_checks(base_url: str, token: str) -> list[CheckResult]:
    """Run every scim2-tester check against the SCIM server at ``base_url``."""
    headers = {"Authorization": f"Bearer {token}"}
    with Client(base_url=base_url, headers=headers, trust_env=False) as http:
        return check_server(SyncSCIMClient(http))


def passing_checks(results: list[CheckResult]) -> Counter[CheckKey]:
    """Count the passing checks by title and resource type."""
    return Counter(
        (result.title, result.resource_type)
        for result in results
        if result.status in PASSING
    )


@pytest.fixture(scope="module")
def direct_results(scim_server: ScimServer) -> list[CheckResult]:
    return run_checks(scim_server.new_tenant_url(), scim_server.token)


@pytest.fixture(scope="module")
def relay_results(relay: Relay) -> list[CheckResult]:
    return run_checks(relay.scim_url, relay.api_key)


def test_checker_passes_directly(direct_results: list[CheckResult]) -> None:
    passed = sum(passing_checks(direct_results).values())

    assert passed > 100


def test_checker_passes_through_relay_where_direct_passes(
    direct_results: list[CheckResult], relay_results: list[CheckResult]
) -> None:
    direct = passing_checks(direct_results)
    relayed = passing_checks(relay_results)
    lost = direct - relayed
    failed = [repr(result) for result in relay_results if result.status not in PASSING]

    assert lost == Counter(), failed
    assert sum(relayed.values()) >= sum(direct.values())


def test_checker_runs_same_checks_through_relay(
    direct_results: list[CheckResult], relay_results: list[CheckResult]
) -> None:
    assert len(relay_results) == len(direct_results)
