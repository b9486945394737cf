"""Loopback and private downstreams are refused unless the operator opts in.

Without SCIMRELAY_ALLOW_PRIVATE_DOWNSTREAMS=true, a relay must not become a
way to reach services on its own host or network, even for an integration
created while the setting was on.
"""

from __future__ import annotations

import secrets

import pytest

from tests.conftest import RelayFactory, ScimServer
from tests.support.relay import Cli, describe_cli, relay_environment

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


def test_loopback_downstream_refused_without_opt_in(
    relay_factory: RelayFactory,
    scim_server: ScimServer,
) -> None:
    tenant_url = scim_server.new_tenant_url()
    permissive = relay_factory(tenant_url)
    strict = relay_factory.restart(
        permissive, {"SCIMRELAY_ALLOW_PRIVATE_DOWNSTREAMS": "false"}
    )

    user = {"schemas": [USER_SCHEMA], "userName": f"private-{secrets.token_hex(4)}"}
    with strict.client() as client:
        response = client.post("/Users", json=user)
    with scim_server.client(tenant_url) as direct:
        stored = direct.get("/Users").json()

    assert response.status_code >= 400, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    assert stored["totalResults"] == 0


def test_loopback_url_rejected_at_create_without_opt_in(
    tmp_path_factory: pytest.TempPathFactory, scim_server: ScimServer
) -> None:
    root = tmp_path_factory.mktemp("strict-cli")
    env = {"SCIMRELAY_ALLOW_PRIVATE_DOWNSTREAMS": "false"}
    cli = Cli(relay_environment(root / "data", env), cwd=root)
    tenant = cli.json("tenant", "create", "strict-tenant")
    completed = cli.run(
        "integration",
        "create",
        "--tenant",
        tenant["id"],
        "--name",
        "loopback",
        "--scim-url",
        scim_server.new_tenant_url(),
        "--token-stdin",
        input=scim_server.token,
    )

    assert completed.returncode == 2, describe_cli(completed)
    assert "scim_url" in completed.stderr
