"""The whole flow an operator follows in the console, in a real browser.

A relay process prints its setup link, and the operator creates the owner with
it. The operator then signs in, creates an integration against scim2-server and
tests the connection. Finally the operator copies the SCIM API key and finds the
relayed requests in the request log.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import RelayFactory, ScimServer
from tests.support.browser import screenshot
from tests.support.relay import Relay

OWNER_EMAIL = "owner@example.com"
OWNER_PASSWORD = "correct horse battery staple"
USER_PASSWORD = "Pr0vision-S3cret!"
SETUP_LINK = re.compile(r"(http://[^\s\"]+/admin/setup\?token=[^\s\"]+)")
SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture(scope="module")
def console_relay(relay_factory: RelayFactory) -> Relay:
    return relay_factory()


@pytest.fixture(scope="module")
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1360, "height": 900},
        permissions=["clipboard-read", "clipboard-write"],
    )
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    yield opened
    context.close()


def setup_link(relay: Relay) -> str:
    match = SETUP_LINK.search(relay.output())
    assert match, f"serve printed no setup link:\n{relay.output()[:2000]}"
    return match[1]


def sign_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/admin/login")
    page.fill("#email", OWNER_EMAIL)
    page.fill("#password", OWNER_PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/integrations$"))


def fill_header(page: Page, row: int, name: str, value: str) -> None:
    rows = page.locator(".header-row")
    rows.nth(row).locator("input[name=header_name]").fill(name)
    rows.nth(row).locator("input[name=header_value]").fill(value)


def run_test_connection(page: Page) -> str:
    """Press Test Connection and return the diagnosis code shown."""
    result = page.locator("#test-result")
    page.evaluate("document.querySelector('#test-result').innerHTML = ''")
    page.click("button[data-test-url]")
    expect(result.locator("[data-test-code]")).to_be_visible()
    return str(result.locator("[data-test-code]").get_attribute("data-test-code"))


def test_operator_sets_up_and_follows_an_integration(
    console_relay: Relay, scim_server: ScimServer, page: Page
) -> None:
    base = console_relay.base_url

    # The first owner, through the one-time setup link.
    page.goto(setup_link(console_relay))
    screenshot(page, "01-setup")
    page.fill("#email", OWNER_EMAIL)
    page.fill("#password", OWNER_PASSWORD)
    page.fill("#password_confirm", OWNER_PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/integrations$"))
    page.click("text=Sign out")
    expect(page).to_have_url(re.compile(r"/admin/login$"))
    page.goto(setup_link(console_relay))
    expect(page.locator("h1")).to_have_text("This setup link is not valid")

    page.goto(f"{base}/admin/login")
    screenshot(page, "02-login")
    sign_in(page, base)

    # A new integration with two custom headers; the form stops at five.
    page.click("text=+ Create integration")
    page.fill("#name", "Directory sync")
    page.fill("#token", scim_server.token)
    scim_url = scim_server.new_tenant_url()
    page.fill("#scim_url", scim_url + "/")
    expect(page.locator("[data-slash-notice]")).to_contain_text("trailing slash")
    add = page.locator("button[data-add-header]")
    add.click()
    add.click()
    fill_header(page, 0, "X-Request-Origin", "scimrelay")
    fill_header(page, 1, "X-Team", "identity")
    add.click()
    add.click()
    add.click()
    expect(page.locator(".header-row")).to_have_count(5)
    expect(add).to_be_disabled()
    expect(page.locator("[data-header-count]")).to_contain_text("limit reached")
    screenshot(page, "03-form-header-limit")
    for _ in range(3):
        page.locator(".header-row").last.locator("[data-remove-header]").click()
    expect(page.locator(".header-row")).to_have_count(2)
    expect(add).to_be_enabled()

    # Test Connection with the unsaved values: right token, then a wrong one.
    assert run_test_connection(page) == "ok"
    screenshot(page, "04-test-connection-ok")
    page.fill("#token", "not-the-token")
    assert run_test_connection(page) == "unauthorized"
    expect(page.locator("#test-result")).to_contain_text("token")
    screenshot(page, "05-test-connection-token")
    page.fill("#token", scim_server.token)
    page.click("button[type=submit].primary")

    # The integration page shows the key once; copy it.
    expect(page.locator("h1")).to_have_text("Directory sync")
    expect(page.locator("body")).to_contain_text("trailing slash was removed")
    page.click("[data-copy-target=new-api-key]")
    expect(page.locator("[data-new-key] [data-copied]")).to_be_visible()
    api_key = page.evaluate("navigator.clipboard.readText()")
    assert api_key.startswith("scimrelay_")
    scim_base = page.input_value("#scim-base-url")
    assert scim_base.startswith(base + "/scim/v2/")
    screenshot(page, "06-integration-created")
    page.reload()
    expect(page.locator("[data-new-key]")).to_have_count(0)
    assert api_key not in page.content()

    # SCIM requests with the copied key go through the relay.
    user_name = f"ada-{secrets.token_hex(3)}@example.com"
    with httpx.Client(
        base_url=scim_base,
        headers={"Authorization": f"Bearer {api_key}"},
        trust_env=False,
        timeout=30.0,
    ) as client:
        created = client.post(
            "/Users",
            json={
                "schemas": [SCIM_USER],
                "userName": user_name,
                "password": USER_PASSWORD,
            },
        )
        assert created.status_code == 201, created.text
        found = client.get("/Users", params={"filter": f'userName eq "{user_name}"'})
        assert found.json()["totalResults"] == 1

    # The request log finds them; the password is masked.
    page.goto(f"{base}/admin/logs?q={user_name}")
    rows = page.locator("[data-log-rows] tr[data-entry-id]")
    for _ in range(40):
        if rows.count() >= 2:
            break
        page.wait_for_timeout(250)
        page.reload()
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("GET")
    expect(rows.nth(1)).to_contain_text("POST")
    screenshot(page, "07-request-log")
    rows.nth(1).locator("a").click()
    body = page.locator("[data-request-body]")
    expect(body).to_contain_text(user_name)
    expect(body).to_contain_text("[secure]")
    assert USER_PASSWORD not in page.content()
    expect(page.locator(".stats")).to_contain_text("201")
    screenshot(page, "08-log-entry")

    # The live view shows a request made while the page is open.
    page.goto(f"{base}/admin/logs")
    page.check("[data-live]")
    expect(page.locator("[data-live-status]")).to_have_class(re.compile("on"))
    with httpx.Client(
        headers={"Authorization": f"Bearer {api_key}"}, trust_env=False
    ) as client:
        assert client.get(f"{scim_base}/Groups").status_code == 200
    expect(page.locator("[data-log-rows] tr").first).to_contain_text("/Groups")

    # The integration page: saved-settings test, activity chart, audit trail.
    page.goto(f"{base}/admin/integrations")
    page.click("text=Directory sync")
    page.click("#saved-test button[data-test-url]")
    expect(page.locator("#saved-test-result [data-test-code]")).to_have_attribute(
        "data-test-code", "ok"
    )
    chart = page.locator("img.chart")
    expect(chart).to_be_visible()
    assert page.evaluate("document.querySelector('img.chart').naturalWidth") > 0
    screenshot(page, "09-integration")
    page.goto(f"{base}/admin/integrations")
    expect(page.locator("tbody")).to_contain_text("Directory sync")
    screenshot(page, "10-integrations")
    page.goto(f"{base}/admin/audit")
    expect(page.locator("tbody")).to_contain_text("integration.create")
    expect(page.locator("tbody")).to_contain_text("integration.test")
    assert scim_server.token not in page.content()
    screenshot(page, "11-audit")

    # Settings pages: tenants, admins and an admin API token shown once.
    page.goto(f"{base}/admin/tenants")
    expect(page.locator("h1")).to_have_text("Tenants")
    screenshot(page, "12-tenants")
    page.goto(f"{base}/admin/admins")
    expect(page.locator("tbody")).to_contain_text(OWNER_EMAIL)
    screenshot(page, "13-admins")
    page.goto(f"{base}/admin/tokens")
    page.fill("#token-name", "Terraform")
    page.click("text=Create token")
    expect(page.locator("#new-admin-token")).to_have_value(
        re.compile("^scimrelay_admin_")
    )
    screenshot(page, "14-api-tokens")
