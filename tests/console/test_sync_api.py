"""The admin API's Google source and sync run routes, for two tenants.

A relay process reads the fake Google server and provisions scim2-server
tenants, each a real process on a loopback port. The test opens the relay's
store to create the tenants, admins and admin API tokens, as one more relay
process would.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest

from scimrelay.admin.access import OWNER, TENANT_ADMIN
from scimrelay.admin.operations import Admin
from scimrelay.context import AppContext
from scimrelay.integrations.service import IntegrationInput
from scimrelay.settings import Settings
from tests.conftest import RelayFactory, ScimServer
from tests.console.conftest import PASSWORD
from tests.support.google import Google, Workspace
from tests.support.relay import Relay
from tests.support.sync import list_resources, wait_until

PEOPLE = 5


@dataclass
class World:
    """A relay process, its store, two tenants and an admin of each."""

    relay: Relay
    admin: Admin
    owner: str = ""
    tenants: dict[str, str] = field(default_factory=dict)
    tenant_admins: dict[str, str] = field(default_factory=dict)
    clients: list[httpx.Client] = field(default_factory=list)

    def api(self, user_id: str) -> httpx.Client:
        """Return an admin API client with a new token of ``user_id``."""
        token = self.admin.tokens.issue(user_id, f"t-{secrets.token_hex(3)}")
        client = httpx.Client(
            base_url=self.relay.base_url,
            headers={"Authorization": f"Bearer {token.plaintext}"},
            trust_env=False,
            timeout=60.0,
        )
        self.clients.append(client)
        return client


@pytest.fixture(scope="module")
def world(relay_factory: RelayFactory) -> Iterator[World]:
    """A relay that retries Google at once and starts no scheduled run."""
    relay = relay_factory(
        env={
            "SCIMRELAY_GOOGLE_RETRY_SECONDS": "0.01",
            "SCIMRELAY_SYNC_SCHEDULER": "false",
        }
    )
    context = AppContext.open(Settings.from_env(relay.cli.env))
    admin = Admin.open(context)
    accounts = admin.accounts
    world = World(relay, admin)
    world.owner = accounts.create_admin("owner@example.com", PASSWORD, OWNER).id
    for tenant in ("alpha", "beta"):
        tenant_id = context.service.create_tenant(tenant).id
        world.tenants[tenant] = tenant_id
        world.tenant_admins[tenant] = accounts.create_admin(
            f"admin@{tenant}.example", PASSWORD, TENANT_ADMIN, tenant_id
        ).id
    yield world
    for client in world.clients:
        client.close()
    context.close()


def make_workspace() -> Workspace:
    customer = f"C0{secrets.token_hex(4)}"
    workspace = Workspace(customer, f"{customer.lower()}.example")
    workspace.add_user("admin", "/", admin=True)
    group = workspace.add_group("staff", "Staff")
    for index in range(PEOPLE):
        workspace.add_member(group, workspace.add_user(f"person{index}", "/Staff"))
    return workspace


def new_integration(world: World, tenant: str, scim_url: str, token: str) -> str:
    data = IntegrationInput(
        name=f"sync-{secrets.token_hex(3)}", scim_url=scim_url, token=token
    )
    service = world.admin.context.service
    return service.create_integration(world.tenants[tenant], data).integration.id


def source_body(google: Google, workspace: Workspace, **changes: Any) -> dict[str, Any]:
    body = {
        "key_json": google.account.key_json(google.fake.token_uri),
        "subject": f"admin@{workspace.domain}",
        "customer": workspace.customer_id,
        "org_units": ["/Staff"],
        "interval_minutes": 0,
        "api_url": google.fake.url,
    }
    body.update(changes)
    return body


def base(integration_id: str) -> str:
    return f"/api/v1/integrations/{integration_id}"


def finished(client: httpx.Client, location: str) -> dict[str, Any]:
    """Poll a run until it is no longer running, and return it."""
    found: dict[str, Any] = {}

    def done() -> bool:
        found.update(client.get(location).json())
        return found["status"] != "running"

    wait_until(done, "the sync run finishes")
    return found


def test_source_set_returns_no_key(world: World, google: Google) -> None:
    client = world.api(world.tenant_admins["alpha"])
    integration = new_integration(world, "alpha", "https://app.example/scim", "t")
    workspace = make_workspace()
    google.fake.load(workspace)

    created = client.put(
        f"{base(integration)}/google-source", json=source_body(google, workspace)
    )
    shown = client.get(f"{base(integration)}/google-source")
    audit = client.get("/api/v1/audit").json()["events"]

    assert created.status_code == 200, created.text
    assert created.json()["client_email"] == google.account.client_email
    assert created.json()["key_id"] == google.account.private_key_id
    assert shown.json() == created.json()
    assert "key_json" not in shown.json()
    assert "PRIVATE KEY" not in created.text + shown.text
    assert audit[0]["action"] == "source.create"
    assert audit[0]["target_id"] == integration
    assert "PRIVATE KEY" not in str(audit)


def test_source_update_keeps_key_and_audits_fields(
    world: World, google: Google
) -> None:
    client = world.api(world.owner)
    integration = new_integration(world, "alpha", "https://app.example/scim", "t")
    workspace = make_workspace()
    path = f"{base(integration)}/google-source"
    client.put(path, json=source_body(google, workspace))

    body = source_body(google, workspace, interval_minutes=30)
    del body["key_json"]
    updated = client.put(path, json=body)
    audit = client.get("/api/v1/audit").json()["events"][0]

    assert updated.status_code == 200, updated.text
    assert updated.json()["interval_minutes"] == 30
    assert updated.json()["key_id"] == google.account.private_key_id
    assert audit["action"] == "source.update"
    assert audit["detail"]["changed"] == ["interval_minutes"]


def test_source_errors_name_each_field(world: World, google: Google) -> None:
    client = world.api(world.owner)
    integration = new_integration(world, "alpha", "https://app.example/scim", "t")
    path = f"{base(integration)}/google-source"
    workspace = make_workspace()

    first = client.put(path, json=source_body(google, workspace, key_json=None))
    bad = client.put(
        path,
        json=source_body(
            google,
            workspace,
            key_json='{"type": "authorized_user"}',
            subject="not an email",
            domain=workspace.domain,
            interval_minutes="hourly",
        ),
    )

    assert first.status_code == 422
    assert [e["field"] for e in first.json()["errors"]] == ["key_json"]
    assert "JSON key" in first.json()["errors"][0]["message"]
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"interval_minutes"}
    body = source_body(
        google, workspace, key_json="{}", subject="x", domain=workspace.domain
    )
    bad = client.put(path, json=body)
    fields = {e["field"] for e in bad.json()["errors"]}
    assert fields == {"key_json", "subject", "customer"}
    assert client.get(path).status_code == 404


def test_other_tenant_gets_404_both_ways(world: World, google: Google) -> None:
    workspace = make_workspace()
    google.fake.load(workspace)
    owned = {
        tenant: new_integration(world, tenant, "https://app.example/scim", "t")
        for tenant in ("alpha", "beta")
    }
    owner = world.api(world.owner)
    for integration in owned.values():
        answer = owner.put(
            f"{base(integration)}/google-source", json=source_body(google, workspace)
        )
        assert answer.status_code == 200, answer.text

    for tenant, other in (("alpha", "beta"), ("beta", "alpha")):
        client = world.api(world.tenant_admins[tenant])
        own = base(owned[tenant])
        foreign = base(owned[other])
        assert client.get(f"{own}/google-source").status_code == 200
        assert client.get(f"{own}/sync/runs").json() == []
        calls = [
            ("GET", "/google-source", None),
            ("PUT", "/google-source", source_body(google, workspace)),
            ("DELETE", "/google-source", None),
            ("POST", "/sync/preview", None),
            ("POST", "/sync/runs", None),
            ("GET", "/sync/runs", None),
            ("GET", f"/sync/runs/{secrets.token_hex(8)}", None),
        ]
        for method, path, body in calls:
            answer = client.request(method, foreign + path, json=body)
            assert answer.status_code == 404, (method, path, answer.text)
            assert answer.json()["error"] == "not_found"
    assert owner.get(f"{base(owned['beta'])}/google-source").status_code == 200


def test_preview_then_run_reports_counts(
    world: World, google: Google, scim_server: ScimServer
) -> None:
    client = world.api(world.tenant_admins["beta"])
    scim_url = scim_server.new_tenant_url()
    integration = new_integration(world, "beta", scim_url, scim_server.token)
    workspace = make_workspace()
    google.fake.load(workspace)
    client.put(
        f"{base(integration)}/google-source", json=source_body(google, workspace)
    )

    preview = client.post(f"{base(integration)}/sync/preview")
    with scim_server.client(scim_url) as direct:
        before = list_resources(direct, "Users")
        started = client.post(f"{base(integration)}/sync/runs")
        run = finished(client, started.headers["location"])
        after = list_resources(direct, "Users")
    runs = client.get(f"{base(integration)}/sync/runs").json()

    assert preview.status_code == 200, preview.text
    assert preview.json()["counts"]["created"] == PEOPLE
    assert preview.json()["counts"]["groups"]["created"] == 1
    assert f"create user person0@{workspace.domain}" in preview.json()["lines"]
    assert before == []
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "running"
    assert started.json()["trigger"] == "api"
    assert run["status"] == "succeeded", run
    assert (run["created"], run["failed"]) == (PEOPLE, 0)
    assert run["groups"]["members_added"] == PEOPLE
    assert run["duration_ms"] > 0
    assert len(after) == PEOPLE
    assert [item["id"] for item in runs] == [run["id"]]


def test_run_requests_found_by_source(
    world: World, google: Google, scim_server: ScimServer
) -> None:
    client = world.api(world.owner)
    scim_url = scim_server.new_tenant_url()
    integration = new_integration(world, "alpha", scim_url, scim_server.token)
    workspace = make_workspace()
    google.fake.load(workspace)
    client.put(
        f"{base(integration)}/google-source", json=source_body(google, workspace)
    )
    started = client.post(f"{base(integration)}/sync/runs")
    finished(client, started.headers["location"])
    query = {"integration_id": integration, "source": "sync:google"}
    entries: list[dict[str, Any]] = []

    def logged() -> bool:
        entries[:] = client.get("/api/v1/logs", params=query).json()["entries"]
        return sum(entry["method"] == "POST" for entry in entries) >= PEOPLE + 1

    wait_until(logged, "the sync's requests reach the request log")
    others = client.get(
        "/api/v1/logs", params={**query, "source": "someone-else"}
    ).json()

    assert {entry["source"] for entry in entries} == {"sync:google"}
    assert others["entries"] == []


def test_removed_source_is_not_found(
    world: World, google: Google, scim_server: ScimServer
) -> None:
    client = world.api(world.owner)
    integration = new_integration(
        world, "alpha", scim_server.new_tenant_url(), scim_server.token
    )
    workspace = make_workspace()
    google.fake.load(workspace)
    path = f"{base(integration)}/google-source"
    client.put(path, json=source_body(google, workspace))

    removed = client.delete(path)
    audit = client.get("/api/v1/audit").json()["events"][0]

    assert removed.status_code == 204
    assert client.get(path).status_code == 404
    assert client.post(f"{base(integration)}/sync/preview").status_code == 404
    assert client.get(f"{base(integration)}/sync/runs").json() == []
    assert audit["action"] == "source.remove"


def test_bad_key_never_echoed(world: World, google: Google) -> None:
    """No part of a rejected key, even a mistyped field, comes back."""
    client = world.api(world.owner)
    integration = new_integration(world, "alpha", "https://app.example/scim", "t")
    path = f"{base(integration)}/google-source"
    workspace = make_workspace()
    marker = f"leak-{secrets.token_hex(6)}"
    key = orjson.loads(google.account.key_json(google.fake.token_uri))
    bad_keys = [
        {**key, "token_uri": f"{marker}\r\nX-Injected: 1"},
        {**key, "private_key": f"-----BEGIN PRIVATE KEY-----\n{marker}"},
        {**key, "client_email": 7, "project_id": marker},
        f'{{"type": "service_account", "private_key": "{marker}"',
        orjson.dumps({**key, "padding": marker * 10_000}).decode(),
    ]

    for bad in bad_keys:
        text = bad if isinstance(bad, str) else orjson.dumps(bad).decode()
        answer = client.put(path, json=source_body(google, workspace, key_json=text))

        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["field"] == "key_json"
        assert marker not in answer.text
