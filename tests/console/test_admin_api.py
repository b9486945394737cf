"""The admin API: JSON errors that name the field, and each operation's response."""

from __future__ import annotations

import csv
import io
import json

from tests.console.conftest import UNUSED_DOWNSTREAM, World

TOKEN = "downstream-api-token"


def new_integration(world: World, **values: object) -> dict[str, object]:
    body = {
        "tenant_id": world.tenants["alpha"],
        "name": "Via API",
        "scim_url": UNUSED_DOWNSTREAM,
        "token": TOKEN,
        "headers": [{"name": "X-Request-Origin", "value": "api"}],
    }
    body.update(values)
    return body


def test_create_shows_key_once(world: World) -> None:
    client = world.api(world.owner)
    created = client.post("/api/v1/integrations", json=new_integration(world))
    fetched = client.get(f"/api/v1/integrations/{created.json()['id']}")

    assert created.status_code == 201
    assert created.json()["api_key"].startswith("scimrelay_")
    assert created.json()["header_names"] == ["X-Request-Origin"]
    assert "api_key" not in fetched.json()
    assert TOKEN not in created.text + fetched.text


def test_errors_name_each_field(world: World) -> None:
    client = world.api(world.owner)
    body = new_integration(
        world,
        name=7,
        scim_url="https://app.example.com/scim?x=1",
        headers=[{"name": "Authorization", "value": "Bearer x"}],
    )
    response = client.post("/api/v1/integrations", json=body)

    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"name"}
    body["name"] = "Named"
    response = client.post("/api/v1/integrations", json=body)
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"scim_url", "headers[1].name"}
    assert "query string" in response.text


def test_malformed_json_is_a_400(world: World) -> None:
    client = world.api(world.owner)
    response = client.post(
        "/api/v1/tenants",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_json"


def test_update_rotate_and_revoke(world: World) -> None:
    client = world.api(world.owner)
    created = client.post("/api/v1/integrations", json=new_integration(world)).json()
    base = f"/api/v1/integrations/{created['id']}"
    updated = client.patch(
        base, json={"name": "Renamed", "scim_url": UNUSED_DOWNSTREAM + "/"}
    )
    rotated = client.post(f"{base}/rotate-key", json={"revoke_previous": True})
    revoked = client.post(f"{base}/keys/{rotated.json()['key_id']}/revoke")
    keys = client.get(base).json()["keys"]

    assert updated.json()["name"] == "Renamed"
    assert any("trailing slash" in notice for notice in updated.json()["notices"])
    assert rotated.status_code == 201
    assert revoked.json()["revoked"] is True
    assert all(key["revoked_at"] for key in keys)
    assert len(keys) == 2


def test_connection_test_reports_the_diagnosis(world: World) -> None:
    client = world.api(world.owner)
    created = client.post("/api/v1/integrations", json=new_integration(world)).json()
    report = client.post(f"/api/v1/integrations/{created['id']}/test").json()

    assert report["ok"] is False
    assert report["code"] == "refused"
    assert "port" in report["hint"]


def test_tenant_admin_creates_in_own_tenant(world: World) -> None:
    client = world.api(world.tenant_admins["beta"])
    body = new_integration(world)
    del body["tenant_id"]
    created = client.post("/api/v1/integrations", json=body)
    listed = client.get("/api/v1/integrations").json()

    assert created.json()["tenant_id"] == world.tenants["beta"]
    assert {item["tenant_id"] for item in listed} == {world.tenants["beta"]}


def test_log_queries_and_exports(world: World) -> None:
    targets = world.targets("alpha")
    client = world.api(world.owner)
    query = f"integration_id={targets.integration_id}"
    page = client.get(f"/api/v1/logs?{query}&status_class=2xx&q=grace").json()
    entry = client.get(f"/api/v1/logs/{targets.entry_id}").json()
    jsonl = client.get(f"/api/v1/logs/export?{query}")
    table = client.get(f"/api/v1/logs/export?{query}&format=csv")
    bad = client.get("/api/v1/logs?since=yesterday")

    assert [item["id"] for item in page["entries"]] == [targets.entry_id]
    assert entry["status"] == 201
    assert json.loads(jsonl.text.splitlines()[0])["id"] == targets.entry_id
    assert next(iter(csv.DictReader(io.StringIO(table.text))))["method"] == "POST"
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "since"


def test_revoked_admin_token_is_refused(world: World) -> None:
    issued = world.admin.tokens.issue(world.owner.id, "short-lived")
    headers = {"Authorization": f"Bearer {issued.plaintext}"}
    client = world.api(None)
    before = client.get("/api/v1/tenants", headers=headers)
    revoked = world.api(world.owner).delete(f"/api/v1/tokens/{issued.view.id}")
    after = client.get("/api/v1/tenants", headers=headers)

    assert before.status_code == 200
    assert revoked.status_code == 204
    assert after.status_code == 401
    assert after.headers["www-authenticate"].startswith("Bearer")


def test_created_token_is_shown_once(world: World) -> None:
    client = world.api(world.owner)
    created = client.post("/api/v1/tokens", json={"name": "deploy"})
    listed = client.get("/api/v1/tokens")

    assert created.json()["token"].startswith("scimrelay_admin_")
    assert created.json()["token"] not in listed.text
    assert "deploy" in listed.text


def test_log_entry_id_beyond_bigint_is_not_found(world: World) -> None:
    client = world.api(world.owner)
    response = client.get(f"/api/v1/logs/{2**64}")
    feed = world.console(world.owner).get(f"/admin/logs/feed?after={2**64}")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert feed.status_code == 200


def test_profile_settings_round_trip(world: World) -> None:
    client = world.api(world.owner)
    body = new_integration(
        world,
        profile="okta",
        disabled_rules=["add-as-replace"],
        provider_auth="basic",
    )
    created = client.post("/api/v1/integrations", json=body)
    base = f"/api/v1/integrations/{created.json()['id']}"
    fetched = client.get(base).json()
    switched = client.patch(base, json={"profile": "entra"}).json()
    cleared = client.patch(base, json={"profile": "generic"}).json()
    reset = client.patch(base, json={"provider_auth": "bearer"}).json()

    assert created.status_code == 201, created.text
    assert fetched["profile"] == "okta"
    assert fetched["disabled_rules"] == ["add-as-replace"]
    assert fetched["provider_auth"] == "basic"
    assert switched["profile"] == "entra"
    assert switched["disabled_rules"] == ["add-as-replace"]
    assert cleared["profile"] == "generic"
    assert cleared["disabled_rules"] == []
    assert reset["provider_auth"] == "bearer"


def test_profile_errors_name_field_and_fix(world: World) -> None:
    client = world.api(world.owner)
    unknown = client.post(
        "/api/v1/integrations",
        json=new_integration(world, profile="okta-classic", provider_auth="digest"),
    )
    outside = client.post(
        "/api/v1/integrations",
        json=new_integration(
            world, profile="okta", disabled_rules=["lowercase-patch-ops"]
        ),
    )
    listed = client.post(
        "/api/v1/integrations",
        json=new_integration(world, disabled_rules="add-as-replace"),
    )

    assert unknown.status_code == 422
    messages = {error["field"]: error["message"] for error in unknown.json()["errors"]}
    assert set(messages) == {"profile", "provider_auth"}
    assert "use one of generic, okta, entra" in messages["profile"]
    assert "use bearer or basic" in messages["provider_auth"]
    assert outside.status_code == 422
    errors = outside.json()["errors"]
    assert [error["field"] for error in errors] == ["disabled_rules"]
    assert "not a rule of the profile okta" in errors[0]["message"]
    assert "add-as-replace" in errors[0]["message"]
    assert listed.status_code == 422
    assert listed.json()["errors"][0]["field"] == "disabled_rules"


def test_rule_of_stored_profile_can_be_disabled(world: World) -> None:
    client = world.api(world.owner)
    created = client.post(
        "/api/v1/integrations", json=new_integration(world, profile="jumpcloud")
    ).json()
    base = f"/api/v1/integrations/{created['id']}"
    accepted = client.patch(base, json={"disabled_rules": ["nest-dotted-keys"]})
    refused = client.patch(base, json={"disabled_rules": ["manager-value"]})

    assert accepted.status_code == 200
    assert accepted.json()["disabled_rules"] == ["nest-dotted-keys"]
    assert refused.status_code == 422
    assert "not a rule of the profile jumpcloud" in refused.text
