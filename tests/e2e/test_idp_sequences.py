"""Okta and Entra ID provisioning sequences, replayed directly and through the relay.

The sequences in tests/fixtures/idp are written from what each identity
provider's public SCIM documentation says it sends. A step marked
``direct_fails`` is one that scim2-server rejects when called directly, so the
relay is only held to the steps the downstream itself accepts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ScimServer
from tests.support.relay import Relay
from tests.support.replay import Sequence, StepResult, load_sequence, run_sequence

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "idp"


def failures(results: list[StepResult]) -> list[str]:
    return [str(result) for result in results if not result.passed]


def replay_directly(scim_server: ScimServer, sequence: Sequence) -> list[StepResult]:
    with scim_server.client(scim_server.new_tenant_url()) as client:
        return run_sequence(client, sequence)


def replay_through(
    relay: Relay, sequence: Sequence, integration: dict[str, Any] | None = None
) -> list[StepResult]:
    with relay.client(integration=integration) as client:
        return run_sequence(client, sequence)


@pytest.fixture(scope="module")
def okta() -> Sequence:
    return load_sequence(FIXTURES / "okta-lifecycle.json")


@pytest.fixture(scope="module")
def entra() -> Sequence:
    return load_sequence(FIXTURES / "entra-lifecycle.json")


def test_okta_sequence_passes_directly(scim_server: ScimServer, okta: Sequence) -> None:
    results = replay_directly(scim_server, okta)

    assert failures(results) == []


def test_okta_sequence_passes_through_relay(relay: Relay, okta: Sequence) -> None:
    results = replay_through(relay, okta)

    assert failures(results) == []
    assert sum(result.passed for result in results) == len(okta.steps)


def test_okta_sequence_has_no_direct_failure_marks(okta: Sequence) -> None:
    marked = [step.name for step in okta.steps if step.direct_fails]

    assert marked == []


def test_entra_direct_failures_match_marks(
    scim_server: ScimServer, entra: Sequence
) -> None:
    results = replay_directly(scim_server, entra)
    failed = [result.step.name for result in results if not result.passed]
    marked = [step.name for step in entra.steps if step.direct_fails]

    assert failed == marked


def test_entra_sequence_passes_through_relay_where_direct_passes(
    relay: Relay, scim_server: ScimServer, entra: Sequence
) -> None:
    integration = relay.create_integration(
        scim_server.new_tenant_url(), scim_server.token
    )
    results = replay_through(relay, entra, integration)
    required = [result for result in results if not result.step.direct_fails]

    assert failures(required) == []
    assert sum(result.passed for result in required) == len(required)
    assert len(required) > len(entra.steps) // 2
