"""Okta, Entra ID, OneLogin and JumpCloud sequences through the relay.

Against scim2-server and against the strict downstream, every step passes
through the relay under the provider's profile. The steps marked
``direct_fails`` fail when sent to scim2-server directly and pass through the
relay.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.adapt.conftest import AdaptedFactory, tenant_url
from tests.conftest import RelayFactory, ScimServer
from tests.support.processes import ManagedProcess
from tests.support.relay import Relay
from tests.support.replay import StepResult, load_sequence, run_sequence

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "idp"
PROVIDERS = ["okta", "entra", "onelogin", "jumpcloud"]


def failed(results: list[StepResult]) -> list[str]:
    return [str(result) for result in results if not result.passed]


@pytest.fixture(scope="module")
def relay(relay_factory: RelayFactory) -> Relay:
    return relay_factory()


@pytest.fixture(scope="module")
def strict(adapted_factory: AdaptedFactory) -> ManagedProcess:
    return adapted_factory("strict")


def replay(
    relay: Relay, scim_url: str, token: str, profile: str, name: str
) -> list[StepResult]:
    integration = relay.create_integration(
        scim_url, token, options=["--profile", profile]
    )
    with relay.client(integration=integration) as client:
        return run_sequence(client, load_sequence(FIXTURES / f"{name}-lifecycle.json"))


@pytest.mark.parametrize("profile", PROVIDERS)
def test_sequence_passes_through_relay_to_scim2_server(
    relay: Relay, scim_server: ScimServer, profile: str
) -> None:
    results = replay(
        relay, scim_server.new_tenant_url(), scim_server.token, profile, profile
    )

    assert failed(results) == []
    assert all(result.passed for result in results)


@pytest.mark.parametrize("profile", PROVIDERS)
def test_sequence_passes_through_relay_to_strict_downstream(
    relay: Relay, scim_server: ScimServer, strict: ManagedProcess, profile: str
) -> None:
    url = tenant_url(strict, scim_server)
    results = replay(relay, url, scim_server.token, profile, profile)

    assert failed(results) == []


@pytest.mark.parametrize("profile", PROVIDERS)
def test_sequence_sent_directly_fails_against_strict_downstream(
    scim_server: ScimServer, strict: ManagedProcess, profile: str
) -> None:
    sequence = load_sequence(FIXTURES / f"{profile}-lifecycle.json")
    with httpx.Client(
        base_url=tenant_url(strict, scim_server),
        headers={"Authorization": f"Bearer {scim_server.token}"},
        trust_env=False,
    ) as client:
        results = run_sequence(client, sequence)

    assert failed(results) != []


@pytest.mark.parametrize("profile", ["entra", "onelogin", "jumpcloud"])
def test_marked_steps_pass_through_relay(
    relay: Relay, scim_server: ScimServer, profile: str
) -> None:
    sequence = load_sequence(FIXTURES / f"{profile}-lifecycle.json")
    marked = [step.name for step in sequence.steps if step.direct_fails]
    with scim_server.client(scim_server.new_tenant_url()) as client:
        direct = run_sequence(client, sequence)
    relayed = replay(
        relay, scim_server.new_tenant_url(), scim_server.token, profile, profile
    )

    assert marked
    assert [r.step.name for r in direct if not r.passed] == marked
    assert [r.step.name for r in relayed if r.step.direct_fails and r.passed] == marked
