"""Choosing a provider profile and switching a rule off in the console.

A real relay serves the console to Chromium. The operator switches an
integration from the generic profile to the Entra ID profile and clears one
of its rules. The log entry of a PATCH relayed afterwards shows the other
rules applied and the cleared one not applied.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import RelayFactory, ScimServer
from tests.support.browser import screenshot
from tests.support.relay import Relay

EMAIL = "profiles@example.com"
PASSWORD = "a long enough password"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
RELOAD_TIMEOUT = 20.0


@pytest.fixture(scope="module")
def console_relay(relay_factory: RelayFactory) -> Relay:
    relay = relay_factory()
    relay.cli.json("admin", "create", EMAIL, input=f"{PASSWORD}\n")
    return relay


@pytest.fixture(scope="module")
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    yield opened
    context.close()


def sign_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/admin/login")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/integrations$"))


def patch_until_rules_apply(
    relay: Relay, client: httpx.Client, user_id: str, expected: str
) -> dict[str, Any]:
    """Send a PATCH until the relay has reloaded the profile; return its entry."""
    body = {
        "schemas": [PATCH],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
    }
    deadline = time.monotonic() + RELOAD_TIMEOUT
    while True:
        response = client.patch(f"/Users/{user_id}", json=body)
        assert response.status_code in (200, 204), response.text
        entry = relay.log_entry(response.headers["X-Request-ID"])
        if expected in (entry["applied_rules"] or []):
            return entry
        assert time.monotonic() < deadline, f"the profile never applied: {entry}"
        time.sleep(0.25)


def test_profile_switch_reaches_relayed_request(
    console_relay: Relay, scim_server: ScimServer, page: Page
) -> None:
    base = console_relay.base_url
    integration = console_relay.create_integration(
        scim_server.new_tenant_url(), scim_server.token, name="Profile target"
    )
    sign_in(page, base)

    page.goto(f"{base}/admin/integrations/{integration['id']}/edit")
    expect(page.locator("#profile")).to_have_value("generic")
    expect(page.locator("[data-no-rules]")).to_be_visible()
    page.select_option("#profile", "entra")
    lowercase = page.locator("[data-rule=lowercase-patch-ops]")
    expect(lowercase).to_be_visible()
    expect(lowercase).to_contain_text("in lower case")
    expect(page.locator("[data-rule=patch-no-content-to-resource]")).to_be_hidden()
    expect(page.locator("[data-no-rules]")).to_be_hidden()
    lowercase.locator("input").uncheck()
    screenshot(page, "profile-form")
    page.click("button[type=submit].primary")

    expect(page.locator("h1")).to_have_text("Profile target")
    expect(page.locator("[data-profile]")).to_have_text("entra")
    off = page.locator("[data-profile-rules] [data-rule-state=off]")
    expect(off).to_have_text("lowercase-patch-ops (off)")
    shown = console_relay.cli.json("integration", "show", integration["id"])
    assert shown["profile"] == "entra"
    assert shown["disabled_rules"] == ["lowercase-patch-ops"]

    with console_relay.client(integration=integration) as client:
        created = client.post("/Users", json={"schemas": [USER], "userName": "mia"})
        assert created.status_code == 201, created.text
        entry = patch_until_rules_apply(
            console_relay, client, created.json()["id"], "string-booleans"
        )

    assert "lowercase-patch-ops" not in entry["applied_rules"]
    assert '"Replace"' in entry["request_body"]
    assert '"value":false' in entry["request_body"].replace(" ", "")
