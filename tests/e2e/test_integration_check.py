"""``scimrelay integration test`` diagnoses why a downstream cannot be used.

Each case points an integration at a downstream that fails in one way and
checks the exit code and the diagnosis in the JSON output.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import DownstreamFactory, ScimServer
from tests.support.processes import free_port
from tests.support.relay import Relay, describe_cli

GATE_ORIGIN = f"check-origin-{secrets.token_hex(8)}"
WRONG_TOKEN = f"wrong-token-{secrets.token_hex(8)}"


@dataclass(frozen=True)
class Check:
    """The outcome of one ``integration test`` run."""

    completed: subprocess.CompletedProcess[str]
    report: dict[str, Any]


def run_check(relay: Relay, integration: dict[str, Any]) -> Check:
    completed = relay.cli.run("integration", "test", integration["id"], "--json")
    assert completed.stdout, describe_cli(completed)

    return Check(completed, json.loads(completed.stdout))


@pytest.fixture(scope="module")
def downstream_urls(
    scim_server: ScimServer, downstream_factory: DownstreamFactory
) -> dict[str, str]:
    gate = downstream_factory(
        "gate", "--upstream", scim_server.url, "--expect-origin", GATE_ORIGIN
    )
    html = downstream_factory("html")
    tenant_path = scim_server.new_tenant_url().removeprefix(scim_server.url)

    return {
        "wrong base URL": scim_server.new_tenant_url() + "/missing",
        "refused port": f"http://127.0.0.1:{free_port()}/scim/v2",
        "HTML answer": f"{html.url}/200/scim/v2",
        "missing header": gate.url + tenant_path,
    }


@pytest.fixture(scope="module")
def checks(
    relay: Relay, scim_server: ScimServer, downstream_urls: dict[str, str]
) -> dict[str, Check]:
    """Run ``integration test`` once for each case, by case name."""
    integrations = {
        "success": relay.integration,
        "wrong token": relay.create_integration(
            scim_server.new_tenant_url(), WRONG_TOKEN
        ),
    }
    for case, url in downstream_urls.items():
        integrations[case] = relay.create_integration(url, scim_server.token)

    # The checks only read the store, so they run side by side to save time.
    with ThreadPoolExecutor(max_workers=len(integrations)) as pool:
        futures = {
            case: pool.submit(run_check, relay, integration)
            for case, integration in integrations.items()
        }

    return {case: future.result() for case, future in futures.items()}


def test_check_succeeds_for_working_downstream(checks: dict[str, Check]) -> None:
    check = checks["success"]

    assert check.completed.returncode == 0, describe_cli(check.completed)
    assert check.report["ok"] is True
    assert check.report["code"] == "ok"


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("wrong token", "unauthorized"),
        ("wrong base URL", "not_found"),
        ("refused port", "refused"),
        ("HTML answer", "not_scim"),
        ("missing header", "header_rejected"),
    ],
)
def test_check_diagnoses_failure(
    checks: dict[str, Check], case: str, code: str
) -> None:
    check = checks[case]

    assert check.completed.returncode == 1, describe_cli(check.completed)
    assert check.report["ok"] is False
    assert check.report["code"] == code
    assert check.report["message"]
    assert check.report["hint"]


def test_check_names_http_status(checks: dict[str, Check]) -> None:
    assert "401" in checks["wrong token"].report["message"]
    assert "404" in checks["wrong base URL"].report["message"]


def test_check_output_hides_tokens(
    scim_server: ScimServer, checks: dict[str, Check]
) -> None:
    for case, check in checks.items():
        output = check.completed.stdout + check.completed.stderr
        assert scim_server.token not in output, case
        assert WRONG_TOKEN not in output, case
