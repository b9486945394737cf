"""Console behaviour: sessions, sign-in, the integration form, logs and audit."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from scimrelay.admin.throttle import FREE_ATTEMPTS
from scimrelay.app import create_app
from scimrelay.settings import Settings
from scimrelay.store.models import AdminUser, AuditEvent
from tests.console.conftest import PASSWORD, UNUSED_DOWNSTREAM, World, build_world, csrf

TOKEN = "downstream-secret-token"


def create_form(
    client: TestClient, world: World, **values: object
) -> dict[str, object]:
    form: dict[str, object] = {
        "csrf_token": csrf(client),
        "name": "Payroll",
        "tenant_id": world.tenants["alpha"],
        "token": TOKEN,
        "scim_url": UNUSED_DOWNSTREAM,
        "header_name": ["X-Request-Origin"],
        "header_value": ["payroll"],
        "header_kept": [""],
        "header_secret": ["1"],
        "group_description": "",
    }
    form.update(values)
    return form


def created_id(response: object) -> str:
    location = response.headers["location"]  # type: ignore[attr-defined]
    assert location.startswith("/admin/integrations/")
    return str(location.rsplit("/", 1)[1])


def test_passwords_are_stored_as_argon2id(world: World) -> None:
    with world.admin.context.store.session() as session:
        hashes = session.scalars(select(AdminUser.password_hash)).all()

    assert hashes
    assert all(value.startswith("$argon2id$") for value in hashes)
    assert all(PASSWORD not in value for value in hashes)


def test_session_cookie_httponly_and_lax(world: World) -> None:
    client = TestClient(world.app, base_url="http://127.0.0.1", follow_redirects=False)
    client.get("/admin/login")
    response = client.post(
        "/admin/login",
        data={
            "email": world.owner.email,
            "password": PASSWORD,
            "csrf_token": csrf(client),
        },
    )

    cookie = next(
        value
        for value in response.headers.get_list("set-cookie")
        if value.startswith("scimrelay_session=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/admin" in cookie
    assert "Secure" not in cookie


def test_session_cookie_is_secure_behind_https(world: World) -> None:
    client = TestClient(
        world.app, base_url="https://relay.test", follow_redirects=False
    )
    client.get("/admin/login")
    response = client.post(
        "/admin/login",
        data={
            "email": world.owner.email,
            "password": PASSWORD,
            "csrf_token": csrf(client),
        },
        headers={"Origin": "https://relay.test"},
    )

    cookies = response.headers.get_list("set-cookie")
    assert any(c.startswith("scimrelay_session=") and "Secure" in c for c in cookies)


def test_sign_out_ends_the_session_for_good(world: World) -> None:
    client = world.console(world.owner, fresh=True)
    session = str(client.cookies.get("scimrelay_session"))
    client.post("/admin/logout", data={"csrf_token": csrf(client)})

    replay = TestClient(world.app, base_url="http://127.0.0.1", follow_redirects=False)
    replay.cookies.set("scimrelay_session", session, path="/admin")
    response = replay.get("/admin/integrations")

    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login")


def test_form_from_another_origin_is_refused(world: World) -> None:
    client = world.console(world.owner)
    response = client.post(
        "/admin/tenants",
        data={"csrf_token": csrf(client), "name": "Evil"},
        headers={"Origin": "http://attacker.test"},
    )

    assert response.status_code == 403
    assert "Evil" not in [
        tenant.name for tenant in world.admin.context.service.list_tenants()
    ]


def test_sign_in_redirect_stays_inside_the_console(world: World) -> None:
    client = TestClient(world.app, base_url="http://127.0.0.1", follow_redirects=False)
    client.get("/admin/login")
    response = client.post(
        "/admin/login",
        data={
            "email": world.owner.email,
            "password": PASSWORD,
            "csrf_token": csrf(client),
            "next": "https://attacker.test/admin/x",
        },
    )

    assert response.headers["location"] == "/admin/integrations"


def test_invalid_form_keeps_input_but_token(world: World) -> None:
    client = world.console(world.owner)
    form = create_form(
        client,
        world,
        name="Keep this name",
        scim_url="ftp://app.example.com/scim",
        header_name=["X-Good", "Bad Name"],
        header_value=["kept-value", "v"],
        header_kept=["", ""],
    )
    response = client.post("/admin/integrations", data=form)

    assert response.status_code == 422
    assert 'value="Keep this name"' in response.text
    assert 'value="kept-value"' in response.text
    assert "must start with https:// or http://" in response.text
    assert "Header name &#39;Bad Name&#39; is not a valid header name" in response.text
    assert TOKEN not in response.text


def test_trailing_slash_is_removed_and_said(world: World) -> None:
    client = world.console(world.owner)
    response = client.post(
        "/admin/integrations",
        data=create_form(client, world, scim_url=UNUSED_DOWNSTREAM + "/"),
    )
    integration_id = created_id(response)
    page = client.get(f"/admin/integrations/{integration_id}")

    assert "the trailing slash was removed" in page.text
    assert world.admin.context.service.get_integration(integration_id).scim_url == (
        UNUSED_DOWNSTREAM
    )
    assert page.text.count("scimrelay_") >= 1
    assert "scimrelay_" not in client.get(f"/admin/integrations/{integration_id}").text


def test_editing_keeps_token_and_header_values_unless_typed(world: World) -> None:
    client = world.console(world.owner)
    integration_id = created_id(
        client.post("/admin/integrations", data=create_form(client, world))
    )
    form = create_form(
        client,
        world,
        token="",
        name="Payroll renamed",
        header_name=["X-Request-Origin", "X-Extra"],
        header_value=["", "extra"],
        header_kept=["X-Request-Origin", ""],
        header_secret=["1", ""],
    )
    response = client.post(f"/admin/integrations/{integration_id}", data=form)
    token, headers = world.admin.context.service.read_secrets(integration_id)

    assert response.status_code == 303
    assert token == TOKEN
    assert [(h.name, h.value, h.secret) for h in headers] == [
        ("X-Request-Origin", "payroll", True),
        ("X-Extra", "extra", False),
    ]
    edit_page = client.get(f"/admin/integrations/{integration_id}/edit")
    assert "payroll" not in edit_page.text
    assert 'value="extra"' in edit_page.text
    assert TOKEN not in edit_page.text


def test_audit_trail_names_changes_but_never_secrets(world: World) -> None:
    client = world.console(world.owner)
    integration_id = created_id(
        client.post("/admin/integrations", data=create_form(client, world))
    )
    form = create_form(client, world, token="a-new-secret-token")
    client.post(f"/admin/integrations/{integration_id}", data=form)
    client.post(
        f"/admin/integrations/{integration_id}/test", data={"csrf_token": csrf(client)}
    )
    client.post(
        f"/admin/integrations/{integration_id}/rotate-key",
        data={"csrf_token": csrf(client)},
    )

    with world.admin.context.store.session() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.target_id == integration_id)
        ).all()
        stored = json.dumps([[e.action, e.detail, e.target_name] for e in events])
    actions = [event.action for event in events]
    assert actions == [
        "integration.create",
        "integration.update",
        "integration.test",
        "key.rotate",
    ]
    assert "token" in events[1].detail["changed"]
    assert events[2].detail["result"] == "refused"
    assert "a-new-secret-token" not in stored
    assert TOKEN not in stored
    assert "scimrelay_" not in stored
    page = client.get("/admin/audit")
    assert "integration.update" in page.text
    assert "a-new-secret-token" not in page.text


def test_connection_test_of_unsaved_settings_names_bad_fields(world: World) -> None:
    client = world.console(world.owner)
    response = client.post(
        "/admin/integrations/test",
        data=create_form(client, world, scim_url="not a url", token=""),
    )

    assert response.status_code == 422
    assert "scim_url" in response.text
    assert "token" in response.text


@pytest.fixture(scope="module")
def logged(world: World) -> dict[str, int]:
    """Log entries of one integration: a created user, a 409 and a 502."""
    targets = world.targets("alpha")
    ids = {"created": targets.entry_id}
    with world.admin.context.store.session() as session:
        from scimrelay.store.models import RequestLogEntry

        for name, status, method, path in (
            ("conflict", 409, "POST", "/Users"),
            ("down", 502, "GET", "/Groups"),
        ):
            entry = RequestLogEntry(
                **{
                    **{
                        c.name: getattr(
                            session.get(RequestLogEntry, targets.entry_id), c.name
                        )
                        for c in RequestLogEntry.__table__.columns
                        if c.name != "id"
                    },
                    "status": status,
                    "method": method,
                    "path": f"/scim/v2/{targets.integration_id}{path}",
                    "request_body": None,
                    "response_body": None,
                }
            )
            session.add(entry)
            session.flush()
            ids[name] = entry.id
    ids["integration"] = targets.integration_id  # type: ignore[assignment]
    return ids


def shown_ids(text: str) -> set[int]:
    import re

    return {int(value) for value in re.findall(r'data-entry-id="(\d+)"', text)}


def test_log_filters_narrow_the_table(world: World, logged: dict[str, int]) -> None:
    client = world.console(world.owner)
    base = f"/admin/logs?integration={logged['integration']}"

    assert shown_ids(client.get(base).text) == {
        logged["created"],
        logged["conflict"],
        logged["down"],
    }
    assert shown_ids(client.get(base + "&status=5xx").text) == {logged["down"]}
    assert shown_ids(client.get(base + "&status=4xx").text) == {logged["conflict"]}
    assert shown_ids(client.get(base + "&method=GET").text) == {logged["down"]}
    assert shown_ids(client.get(base + "&resource=Groups").text) == {logged["down"]}
    assert shown_ids(client.get(base + "&q=grace@example").text) == {logged["created"]}
    assert shown_ids(client.get(base + "&range=1h").text) == {
        logged["created"],
        logged["conflict"],
        logged["down"],
    }


def test_live_feed_returns_only_newer_entries(
    world: World, logged: dict[str, int]
) -> None:
    client = world.console(world.owner)
    response = client.get(
        f"/admin/logs/feed?integration={logged['integration']}&after={logged['created']}"
    )

    assert shown_ids(response.text) == {logged["conflict"], logged["down"]}
    assert response.headers["x-last-id"] == str(logged["down"])


def test_log_entry_page_shows_masked_body(world: World, logged: dict[str, int]) -> None:
    client = world.console(world.owner)
    page = client.get(f"/admin/logs/{logged['created']}")

    assert "Downstream status" in page.text
    assert "[secure]" in page.text
    assert "12.5 ms" in page.text


def test_exports_follow_the_filters(world: World, logged: dict[str, int]) -> None:
    client = world.console(world.owner)
    query = f"integration={logged['integration']}&status=4xx"
    jsonl = client.get(f"/admin/logs/export?format=jsonl&{query}")
    table = client.get(f"/admin/logs/export?format=csv&{query}")

    lines = [json.loads(line) for line in jsonl.text.splitlines()]
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert [line["id"] for line in lines] == [logged["conflict"]]
    assert [int(row["id"]) for row in rows] == [logged["conflict"]]
    assert rows[0]["status"] == "409"
    assert "attachment" in table.headers["content-disposition"]


def test_activity_chart_is_svg(world: World, logged: dict[str, int]) -> None:
    client = world.console(world.owner)
    response = client.get(
        f"/admin/integrations/{logged['integration']}/activity.svg?range=7d"
    )

    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.text.startswith("<svg")
    assert "Server error: 1" in response.text
    assert "<polyline" in response.text


def test_admin_token_is_shown_once(world: World) -> None:
    client = world.console(world.owner)
    created = client.post(
        "/admin/tokens", data={"csrf_token": csrf(client), "name": "ci"}
    )
    assert created.status_code == 303, (created.status_code, created.text[:400])
    first = client.get(created.headers["location"])
    second = client.get("/admin/tokens")

    assert "scimrelay_admin_" in first.text
    assert "scimrelay_admin_" not in second.text


@pytest.fixture
def throttled_world(tmp_path: Path) -> Iterator[World]:
    yield from build_world(tmp_path)


def login_client(app: Starlette) -> TestClient:
    client = TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)
    client.get("/admin/login")
    return client


def sign_in(client: TestClient, email: str, password: str) -> int:
    data = {"email": email, "password": password, "csrf_token": csrf(client)}
    return client.post("/admin/login", data=data).status_code


def test_repeated_failed_sign_ins_are_slowed_down(throttled_world: World) -> None:
    world = throttled_world
    client = login_client(world.app)
    statuses = [sign_in(client, world.owner.email, "wrong") for _ in range(5)]
    blocked = client.post(
        "/admin/login",
        data={
            "email": world.owner.email,
            "password": PASSWORD,
            "csrf_token": csrf(client),
        },
    )

    assert statuses == [401] * 5
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.text


def test_sign_in_throttle_is_shared(throttled_world: World) -> None:
    """A second relay on the same store counts the first one's failures."""
    world = throttled_world
    settings = world.admin.context.settings
    other = create_app(
        Settings(data_dir=settings.data_dir, allow_private_downstreams=True)
    )
    with TestClient(other):
        statuses = [
            sign_in(login_client(world.app), world.owner.email, "wrong")
            for _ in range(5)
        ]
        elsewhere = sign_in(login_client(other), world.owner.email, PASSWORD)

    assert statuses == [401] * 5
    assert elsewhere == 429


def test_concurrent_wrong_passwords_are_throttled(throttled_world: World) -> None:
    """Wrong passwords sent at once get no more password checks than the free ones."""
    world = throttled_world
    clients = [login_client(world.app) for _ in range(12)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(
            pool.map(
                lambda client: sign_in(client, world.owner.email, "wrong"), clients
            )
        )

    assert sorted(statuses) == [401] * FREE_ATTEMPTS + [429] * (12 - FREE_ATTEMPTS)


def test_successful_sign_ins_never_throttle(throttled_world: World) -> None:
    world = throttled_world
    statuses = [
        sign_in(login_client(world.app), world.owner.email, PASSWORD)
        for _ in range(2 * FREE_ATTEMPTS)
    ]

    assert statuses == [303] * (2 * FREE_ATTEMPTS)
