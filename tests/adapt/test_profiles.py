"""Provider profile rules, each shown needed (strict downstream) and working."""

from __future__ import annotations

import base64
import secrets
from typing import Any

import httpx
import pytest

from tests.adapt.conftest import AdaptedFactory, tenant_url
from tests.conftest import RelayFactory, ScimServer
from tests.support.processes import ManagedProcess
from tests.support.relay import Relay

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ADSCIM = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


@pytest.fixture(scope="module")
def strict(adapted_factory: AdaptedFactory) -> ManagedProcess:
    return adapted_factory("strict")


@pytest.fixture(scope="module")
def relay(relay_factory: RelayFactory) -> Relay:
    return relay_factory()


def integration(
    relay: Relay, strict: ManagedProcess, scim_server: ScimServer, *options: str
) -> dict[str, Any]:
    return relay.create_integration(
        tenant_url(strict, scim_server), scim_server.token, options=list(options)
    )


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(operations)}


def create_user(client: httpx.Client, **extra: Any) -> dict[str, Any]:
    body = {"schemas": [USER], "userName": f"u-{secrets.token_hex(4)}", **extra}
    response = client.post("/Users", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def create_group(client: httpx.Client, members: list[str]) -> dict[str, Any]:
    body = {
        "schemas": [GROUP],
        "displayName": f"g-{secrets.token_hex(4)}",
        "members": [{"value": member} for member in members],
    }
    response = client.post("/Groups", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.fixture(scope="module")
def generic(relay: Relay, strict: ManagedProcess, scim_server: ScimServer) -> Any:
    return integration(relay, strict, scim_server)


@pytest.fixture(scope="module")
def entra(relay: Relay, strict: ManagedProcess, scim_server: ScimServer) -> Any:
    return integration(relay, strict, scim_server, "--profile", "entra")


@pytest.fixture(scope="module")
def okta(relay: Relay, strict: ManagedProcess, scim_server: ScimServer) -> Any:
    return integration(
        relay, strict, scim_server, "--profile", "okta", "--provider-auth", "basic"
    )


def send_both(
    relay: Relay, generic: Any, entra: Any, method: str, path: str, body: Any
) -> tuple[httpx.Response, httpx.Response]:
    """Send one request through the generic and the entra integration."""
    with relay.client(integration=generic) as plain:
        refused = plain.request(method, path.format(**_ids(plain)), json=body)
    with relay.client(integration=entra) as adapted:
        accepted = adapted.request(method, path.format(**_ids(adapted)), json=body)
    return refused, accepted


def _ids(client: httpx.Client) -> dict[str, str]:
    user = create_user(client)
    return {"user": user["id"]}


def test_patch_capitalised_op_is_lowercased(
    relay: Relay, generic: Any, entra: Any
) -> None:
    body = patch({"op": "Replace", "path": "displayName", "value": "Ada"})

    refused, accepted = send_both(relay, generic, entra, "PATCH", "/Users/{user}", body)

    assert refused.status_code == 400
    assert accepted.status_code == 204
    entry = relay.log_entry(accepted.headers["X-Request-ID"])
    assert entry["applied_rules"] == ["lowercase-patch-ops"]
    assert '"Replace"' in entry["original_request_body"]
    assert '"replace"' in entry["request_body"]


def test_patch_string_boolean_becomes_json_boolean(
    relay: Relay, generic: Any, entra: Any
) -> None:
    body = patch({"op": "replace", "path": "active", "value": "False"})

    refused, accepted = send_both(relay, generic, entra, "PATCH", "/Users/{user}", body)

    assert refused.status_code == 400
    assert accepted.status_code == 204
    entry = relay.log_entry(accepted.headers["X-Request-ID"])
    assert "string-booleans" in entry["applied_rules"]


def test_patch_other_string_for_boolean_is_invalid_value(
    relay: Relay, entra: Any
) -> None:
    body = patch({"op": "replace", "path": "active", "value": "maybe"})
    with relay.client(integration=entra) as client:
        user = create_user(client)
        response = client.patch(f"/Users/{user['id']}", json=body)

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    assert "active" in response.json()["detail"]


def test_create_with_string_boolean_in_emails_is_converted(
    relay: Relay, generic: Any, entra: Any
) -> None:
    email = [{"value": "a@example.test", "primary": "True"}]
    body = {"schemas": [USER], "userName": f"b-{secrets.token_hex(4)}"}
    with relay.client(integration=generic) as plain:
        refused = plain.post("/Users", json={**body, "emails": email})
    with relay.client(integration=entra) as adapted:
        accepted = adapted.post("/Users", json={**body, "emails": email})

    assert refused.status_code == 400
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["emails"][0]["primary"] is True


def test_pathless_dotted_keys_are_nested(
    relay: Relay, generic: Any, entra: Any
) -> None:
    body = patch(
        {
            "op": "replace",
            "value": {"name.givenName": "Grace", f"{ENTERPRISE}:department": "Navy"},
        }
    )

    refused, accepted = send_both(relay, generic, entra, "PATCH", "/Users/{user}", body)

    assert refused.status_code == 400
    assert accepted.status_code == 204
    with relay.client(integration=entra) as client:
        entry = relay.log_entry(accepted.headers["X-Request-ID"])
        user_id = entry["path"].rsplit("/", 1)[1]
        user = client.get(f"/Users/{user_id}").json()
    assert user["name"]["givenName"] == "Grace"
    assert user[ENTERPRISE]["department"] == "Navy"


def test_pathless_read_only_id_is_dropped(
    relay: Relay, generic: Any, entra: Any
) -> None:
    body = patch({"op": "replace", "value": {"id": "forged", "displayName": "Renamed"}})

    refused, accepted = send_both(relay, generic, entra, "PATCH", "/Users/{user}", body)

    assert refused.status_code == 400
    assert accepted.status_code == 204
    entry = relay.log_entry(accepted.headers["X-Request-ID"])
    assert "drop-read-only-values" in entry["applied_rules"]
    assert "forged" not in entry["request_body"]


def test_member_removal_by_value_list(relay: Relay, generic: Any, entra: Any) -> None:
    with relay.client(integration=entra) as client:
        users = [create_user(client)["id"] for _ in range(3)]
        group = create_group(client, users)
        body = patch(
            {"op": "remove", "path": "members", "value": [{"value": users[0]}]}
        )
        response = client.patch(f"/Groups/{group['id']}", json=body)
        members = client.get(f"/Groups/{group['id']}").json().get("members", [])
    with relay.client(integration=generic) as plain:
        other = create_group(plain, [create_user(plain)["id"]])
        refused = plain.patch(f"/Groups/{other['id']}", json=body)

    assert refused.status_code == 400
    assert response.status_code == 204
    assert sorted(member["value"] for member in members) == sorted(users[1:])


def test_enterprise_manager_bare_id_is_wrapped(
    relay: Relay, generic: Any, entra: Any
) -> None:
    path = f"{ENTERPRISE}:manager"
    with relay.client(integration=entra) as client:
        manager = create_user(client)
        user = create_user(client)
        body = patch({"op": "replace", "path": path, "value": manager["id"]})
        response = client.patch(f"/Users/{user['id']}", json=body)
        stored = client.get(f"/Users/{user['id']}").json()
    with relay.client(integration=generic) as plain:
        refused = plain.patch(f"/Users/{create_user(plain)['id']}", json=body)

    assert refused.status_code == 400
    assert response.status_code == 204
    assert stored[ENTERPRISE]["manager"]["value"] == manager["id"]


def test_single_valued_add_becomes_replace(
    relay: Relay, generic: Any, entra: Any
) -> None:
    body = patch({"op": "add", "path": "title", "value": "Rear Admiral"})

    refused, accepted = send_both(relay, generic, entra, "PATCH", "/Users/{user}", body)

    assert refused.status_code == 400
    assert accepted.status_code == 204
    entry = relay.log_entry(accepted.headers["X-Request-ID"])
    assert entry["applied_rules"] == ["add-as-replace"]


def test_vendor_group_schema_is_removed_before_forwarding(
    relay: Relay, generic: Any, entra: Any
) -> None:
    body = {"schemas": [GROUP, ADSCIM], "displayName": f"g-{secrets.token_hex(4)}"}
    with relay.client(integration=generic) as plain:
        refused = plain.post("/Groups", json=body)
    with relay.client(integration=entra) as adapted:
        accepted = adapted.post(
            "/Groups", json={**body, "displayName": "x" + body["displayName"]}
        )

    assert refused.status_code == 400
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["schemas"] == [GROUP]


def test_okta_patch_no_content_becomes_resource(relay: Relay, okta: Any) -> None:
    body = patch({"op": "replace", "value": {"active": False}})
    with relay.client(integration=okta) as client:
        user = create_user(client)
        response = client.patch(f"/Users/{user['id']}", json=body)

    assert response.status_code == 200
    assert response.json()["id"] == user["id"]
    assert response.json()["active"] is False


def test_disabled_rule_is_not_applied(
    relay: Relay, strict: ManagedProcess, scim_server: ScimServer
) -> None:
    chosen = integration(
        relay,
        strict,
        scim_server,
        "--profile",
        "okta",
        "--disable-rule",
        "patch-no-content-to-resource",
    )
    body = patch({"op": "replace", "value": {"active": False}})
    with relay.client(integration=chosen) as client:
        user = create_user(client)
        response = client.patch(f"/Users/{user['id']}", json=body)

    assert response.status_code == 204
    assert chosen["disabled_rules"] == ["patch-no-content-to-resource"]


def test_basic_authentication_is_accepted_where_allowed(
    relay: Relay, okta: Any, generic: Any
) -> None:
    def basic(key: str) -> dict[str, str]:
        token = base64.b64encode(f"okta:{key}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    with httpx.Client(trust_env=False) as client:
        allowed = client.get(
            relay.scim_url_of(okta) + "/Users", headers=basic(okta["api_key"])
        )
        refused = client.get(
            relay.scim_url_of(generic) + "/Users", headers=basic(generic["api_key"])
        )

    assert allowed.status_code == 200
    assert refused.status_code == 401


def test_unknown_profile_is_rejected_naming_the_field(relay: Relay) -> None:
    completed = relay.cli.run(
        "integration", "update", relay.integration_id, "--disable-rule", "no-such-rule"
    )

    assert completed.returncode != 0
    assert "disabled_rules" in completed.stderr
    assert "no-such-rule" in completed.stderr


def test_rules_apply_to_operations_of_native_bulk(
    relay: Relay, generic: Any, entra: Any
) -> None:
    user = {
        "schemas": [USER],
        "userName": f"k-{secrets.token_hex(4)}",
        "active": "True",
    }
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "k", "data": user}
        ],
    }
    with relay.client(integration=generic) as plain:
        refused = plain.post("/Bulk", json=body)
    with relay.client(integration=entra) as adapted:
        accepted = adapted.post("/Bulk", json=body)

    assert refused.status_code == 400
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["Operations"][0]["status"] == "201"
    entry = relay.log_entry(accepted.headers["X-Request-ID"])
    assert entry["applied_rules"] == ["string-booleans"]


def test_split_membership_change_names_unknown_member(
    relay: Relay, strict: ManagedProcess, scim_server: ScimServer
) -> None:
    chosen = integration(relay, strict, scim_server, "--max-members-per-patch", "2")
    with relay.client(integration=chosen) as client:
        users = [create_user(client)["id"] for _ in range(3)]
        group = create_group(client, [])
        values = [{"value": user} for user in [*users, "no-such-user"]]
        body = patch({"op": "add", "path": "members", "value": values})
        response = client.patch(f"/Groups/{group['id']}", json=body)
        members = client.get(f"/Groups/{group['id']}").json().get("members", [])

    assert response.status_code == 400
    assert "no-such-user" in response.json()["detail"]
    assert "requests applied before it: 1" in response.json()["detail"]
    assert sorted(member["value"] for member in members) == sorted(users[:2])


def test_large_member_patch_is_split(
    relay: Relay, strict: ManagedProcess, scim_server: ScimServer
) -> None:
    chosen = integration(relay, strict, scim_server, "--max-members-per-patch", "2")
    with relay.client(integration=chosen) as client:
        users = [create_user(client)["id"] for _ in range(3)]
        group = create_group(client, [])
        # Long display names take the body over the size parsed in one piece.
        values = [{"value": user, "display": "d" * 120_000} for user in users]
        body = patch({"op": "add", "path": "members", "value": values})
        response = client.patch(f"/Groups/{group['id']}", json=body)
        members = client.get(f"/Groups/{group['id']}").json().get("members", [])

    assert response.status_code in (200, 204), response.text
    assert sorted(member["value"] for member in members) == sorted(users)
    entry = relay.log_entry(response.headers["X-Request-ID"])
    assert entry["applied_rules"] == ["members-split"]
