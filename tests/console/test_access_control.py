"""Every console page and API operation, tried anonymously, across tenants and as owner.

The rule table below must name every route the relay serves under /admin and
/api/v1: a route added without a rule fails ``test_every_route_has_a_rule``.

Rules:
``public``  anyone may open it.
``list``    any admin; a tenant admin sees only their tenant's objects in it.
``tenant``  names an object of one tenant; another tenant's admin gets 404.
``self``    names an object of the signed-in admin (an API token); others get 404.
``owner``   owners only; a tenant admin gets 403.
``source``  names the Google source or a sync run of one tenant's integration;
            another tenant's admin gets 404, and the owner may get 404 when the
            integration has no source or no such run.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.routing import Mount, Route

from scimrelay.admin.accounts import AdminView
from tests.console.conftest import Targets, World, csrf

RULES: dict[tuple[str, str], str] = {
    ("GET", "/admin/"): "list",
    ("GET", "/admin/setup"): "public",
    ("POST", "/admin/setup"): "public",
    ("GET", "/admin/login"): "public",
    ("POST", "/admin/login"): "public",
    ("POST", "/admin/logout"): "list",
    ("GET", "/admin/integrations"): "list",
    ("GET", "/admin/integrations/new"): "list",
    ("POST", "/admin/integrations"): "list",
    ("POST", "/admin/integrations/test"): "list",
    ("GET", "/admin/integrations/{integration_id}"): "tenant",
    ("GET", "/admin/integrations/{integration_id}/edit"): "tenant",
    ("POST", "/admin/integrations/{integration_id}"): "tenant",
    ("POST", "/admin/integrations/{integration_id}/delete"): "tenant",
    ("POST", "/admin/integrations/{integration_id}/test"): "tenant",
    ("POST", "/admin/integrations/{integration_id}/rotate-key"): "tenant",
    ("POST", "/admin/integrations/{integration_id}/keys/{key_id}/revoke"): "tenant",
    ("GET", "/admin/integrations/{integration_id}/activity.svg"): "tenant",
    ("GET", "/admin/integrations/{integration_id}/google"): "source",
    ("POST", "/admin/integrations/{integration_id}/google"): "source",
    ("POST", "/admin/integrations/{integration_id}/google/remove"): "source",
    ("POST", "/admin/integrations/{integration_id}/google/preview"): "source",
    ("POST", "/admin/integrations/{integration_id}/google/run"): "source",
    ("GET", "/admin/integrations/{integration_id}/google/runs/{run_id}"): "source",
    ("GET", "/admin/logs"): "list",
    ("GET", "/admin/logs/feed"): "list",
    ("GET", "/admin/logs/export"): "list",
    ("GET", "/admin/logs/{entry_id}"): "tenant",
    ("GET", "/admin/audit"): "list",
    ("GET", "/admin/tokens"): "list",
    ("POST", "/admin/tokens"): "list",
    ("POST", "/admin/tokens/{token_id}/revoke"): "self",
    ("GET", "/admin/tenants"): "owner",
    ("POST", "/admin/tenants"): "owner",
    ("POST", "/admin/tenants/{tenant_id}/delete"): "owner",
    ("GET", "/admin/admins"): "owner",
    ("POST", "/admin/admins"): "owner",
    ("POST", "/admin/admins/{user_id}/delete"): "owner",
    ("GET", "/api/v1/openapi.json"): "public",
    ("GET", "/api/v1/tenants"): "list",
    ("POST", "/api/v1/tenants"): "owner",
    ("GET", "/api/v1/tenants/{tenant_id}"): "tenant",
    ("DELETE", "/api/v1/tenants/{tenant_id}"): "owner",
    ("GET", "/api/v1/integrations"): "list",
    ("POST", "/api/v1/integrations"): "list",
    ("GET", "/api/v1/integrations/{integration_id}"): "tenant",
    ("PATCH", "/api/v1/integrations/{integration_id}"): "tenant",
    ("DELETE", "/api/v1/integrations/{integration_id}"): "tenant",
    ("POST", "/api/v1/integrations/{integration_id}/test"): "tenant",
    ("POST", "/api/v1/integrations/{integration_id}/rotate-key"): "tenant",
    ("POST", "/api/v1/integrations/{integration_id}/keys/{key_id}/revoke"): "tenant",
    ("GET", "/api/v1/integrations/{integration_id}/google-source"): "source",
    ("PUT", "/api/v1/integrations/{integration_id}/google-source"): "source",
    ("DELETE", "/api/v1/integrations/{integration_id}/google-source"): "source",
    ("POST", "/api/v1/integrations/{integration_id}/sync/preview"): "source",
    ("POST", "/api/v1/integrations/{integration_id}/sync/runs"): "source",
    ("GET", "/api/v1/integrations/{integration_id}/sync/runs"): "source",
    ("GET", "/api/v1/integrations/{integration_id}/sync/runs/{run_id}"): "source",
    ("GET", "/api/v1/logs"): "list",
    ("GET", "/api/v1/logs/export"): "list",
    ("GET", "/api/v1/logs/{entry_id}"): "tenant",
    ("GET", "/api/v1/tokens"): "list",
    ("POST", "/api/v1/tokens"): "list",
    ("DELETE", "/api/v1/tokens/{token_id}"): "self",
    ("GET", "/api/v1/audit"): "list",
}
ROUTES = sorted(RULES)


def served_routes(world: World) -> set[tuple[str, str]]:
    """Walk the relay's router and return every route under /admin and /api/v1."""
    found = set()
    for mount in world.app.routes:
        if not isinstance(mount, Mount) or mount.path not in ("/admin", "/api/v1"):
            continue
        inner: Any = mount.app
        while not hasattr(inner, "routes"):
            inner = inner.app
        for route in inner.routes:
            if isinstance(route, Route):
                path = route.path.replace(":int}", "}")
                found |= {(method, mount.path + path) for method in route.methods or ()}
    return {(method, path) for method, path in found if method != "HEAD"}


def test_every_route_has_a_rule(world: World) -> None:
    assert served_routes(world) == set(RULES)


def concrete(path: str, targets: Targets, token_id: str) -> str:
    return path.format(
        integration_id=targets.integration_id,
        key_id=targets.key_id,
        tenant_id=targets.tenant_id,
        entry_id=targets.entry_id,
        user_id=targets.admin_id if "{user_id}" in path else "",
        token_id=token_id,
        run_id="00000000-0000-4000-8000-000000000000",
    )


def call(client: httpx.Client, method: str, path: str) -> httpx.Response:
    if path.startswith("/api/"):
        return client.request(
            method, path, json={} if method in ("POST", "PATCH", "PUT") else None
        )
    data = {"csrf_token": csrf(client)} if method == "POST" else None
    return client.request(method, path, data=data)


def client_for(world: World, user: AdminView, path: str) -> httpx.Client:
    if path.startswith("/api/"):
        return world.api(user)
    return world.console(user, fresh=path.endswith("/logout"))


def owner_token_id(world: World) -> str:
    return world.admin.tokens.issue(world.owner.id, "someone else's").view.id


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_anonymous_is_turned_away(world: World, method: str, path: str) -> None:
    rule = RULES[(method, path)]
    client = world.api(None) if path.startswith("/api/") else world.console(None)
    response = call(client, method, concrete(path, world.targets("alpha"), "t"))

    if rule == "public":
        assert response.status_code in (200, 303, 401, 404, 422), response.text
    elif path.startswith("/api/"):
        assert response.status_code == 401
        assert response.json()["error"] == "unauthorized"
    else:
        assert response.status_code == 303
        assert response.headers["location"].startswith("/admin/login")


@pytest.mark.parametrize(("mine", "theirs"), [("beta", "alpha"), ("alpha", "beta")])
@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_tenant_admin_cannot_cross_into_another_tenant(
    world: World, method: str, path: str, mine: str, theirs: str
) -> None:
    rule = RULES[(method, path)]
    if rule == "public":
        return
    user = world.tenant_admins[mine]
    client = client_for(world, user, path)
    targets = world.targets(theirs)
    response = call(client, method, concrete(path, targets, owner_token_id(world)))

    if rule in ("tenant", "self", "source"):
        assert response.status_code == 404, response.text
    elif rule == "owner":
        assert response.status_code == 403, response.text
    else:
        assert response.status_code < 500, response.text
        assert targets.integration_name not in response.text
        assert world.tenants[theirs] not in response.text
    assert world.admin.context.service.get_integration(targets.integration_id)


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_owner_reaches_every_route(world: World, method: str, path: str) -> None:
    client = client_for(world, world.owner, path)
    targets = world.targets()
    token_id = world.admin.tokens.issue(world.owner.id, "own").view.id
    response = call(client, method, concrete(path, targets, token_id))

    assert response.status_code < 500, response.text
    if RULES[(method, path)] == "source":
        assert response.status_code not in (401, 403), response.text
    elif RULES[(method, path)] != "public":
        assert response.status_code not in (401, 403, 404), response.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        route
        for route in ROUTES
        if route[0] == "POST" and route[1].startswith("/admin/")
    ],
)
def test_console_form_without_csrf_token_is_refused(
    world: World, method: str, path: str
) -> None:
    client = world.console(world.owner)
    targets = world.targets("alpha")
    response = client.post(concrete(path, targets, "t"), data={"name": "x"})

    assert response.status_code == 403
    assert "expired" in response.text
    assert world.admin.context.service.get_integration(targets.integration_id)
