"""An operator sets a Google source in the console, previews, runs and reads the counts.

A relay process reads the fake Google server and provisions a scim2-server
tenant; the operator works in Debian's Chromium. The owner account is
created in the relay's store before the browser signs in.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from scimrelay.admin.access import OWNER
from scimrelay.admin.operations import Admin
from scimrelay.context import AppContext
from scimrelay.settings import Settings
from tests.conftest import RelayFactory, ScimServer
from tests.support.browser import screenshot
from tests.support.google import Google, Workspace
from tests.support.relay import Relay
from tests.support.sync import list_resources

OWNER_EMAIL = "owner@example.com"
OWNER_PASSWORD = "correct horse battery staple"
PEOPLE = 6
RUN_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def console_relay(relay_factory: RelayFactory) -> Iterator[Relay]:
    relay = relay_factory(
        env={
            "SCIMRELAY_GOOGLE_RETRY_SECONDS": "0.01",
            "SCIMRELAY_SYNC_SCHEDULER": "false",
        }
    )
    context = AppContext.open(Settings.from_env(relay.cli.env))
    Admin.open(context).accounts.create_admin(OWNER_EMAIL, OWNER_PASSWORD, OWNER)
    context.close()
    yield relay


@pytest.fixture(scope="module")
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    yield opened
    context.close()


def make_workspace() -> Workspace:
    customer = f"C0{secrets.token_hex(4)}"
    workspace = Workspace(customer, f"{customer.lower()}.example")
    workspace.add_user("admin", "/", admin=True)
    group = workspace.add_group("staff", "Staff")
    for index in range(PEOPLE):
        person = workspace.add_user(f"person{index}", "/Staff", title="Engineer")
        workspace.add_member(group, person)
    return workspace


def sign_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/admin/login")
    page.fill("#email", OWNER_EMAIL)
    page.fill("#password", OWNER_PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/integrations$"))


def test_operator_syncs_google_from_console(
    console_relay: Relay,
    google: Google,
    scim_server: ScimServer,
    page: Page,
    tmp_path: Path,
) -> None:
    base = console_relay.base_url
    integration = console_relay.integration_id
    workspace = make_workspace()
    google.fake.load(workspace)
    key_file = tmp_path / "service-account.json"
    key_file.write_text(google.account.key_json(google.fake.token_uri))

    sign_in(page, base)
    page.goto(f"{base}/admin/integrations/{integration}")
    page.locator("#google-source").get_by_role("link", name="Set up").click()
    expect(page.locator("h1")).to_have_text("Google Workspace source")

    # A pasted key that is not a service-account key, and a bad administrator.
    page.fill("#key_json", '{"type": "authorized_user"}')
    page.fill("#subject", "not an email")
    page.click("text=Save source")
    expect(page.locator("[data-error=key]")).to_contain_text("service-account JSON")
    expect(page.locator("[data-error=subject]")).to_contain_text("email address")
    expect(page.locator("#subject")).to_have_value("not an email")
    screenshot(page, "google-source-errors")

    # The key file uploaded, the directory named, Google's address changed.
    page.set_input_files("#key_file", str(key_file))
    page.fill("#key_json", "")
    page.fill("#subject", f"admin@{workspace.domain}")
    page.fill("#customer", workspace.customer_id)
    page.fill("#org_units", "/Staff")
    page.fill("#interval_minutes", "0")
    page.click("details.guide summary")
    page.fill("#api_url", google.fake.url)
    page.click("text=Save source")
    expect(page.locator(".alert.ok")).to_have_text("Google Workspace source saved.")
    expect(page.locator("[data-key-id]")).to_have_text(google.account.private_key_id)
    expect(page.locator("#key_json")).to_have_value("")
    assert "PRIVATE KEY" not in page.content()

    # Preview: every change is listed, and nothing reaches the downstream.
    page.click("text=Preview")
    preview = page.locator("#preview")
    expect(preview.locator("[data-preview-count=created]")).to_have_text(str(PEOPLE))
    expect(preview.locator("[data-preview-group-count=created]")).to_have_text("1")
    expect(preview.locator("[data-preview-changes] li")).to_have_count(PEOPLE + 1)
    expect(preview).to_contain_text(f"create user person0@{workspace.domain}")
    screenshot(page, "google-source-preview")
    scim_url = console_relay.integration["scim_url"]
    with scim_server.client(scim_url) as direct:
        assert list_resources(direct, "Users") == []

    # Run: the run's page reloads until the run ends, then shows the counts.
    page.click("text=Run sync now")
    expect(page).to_have_url(re.compile(r"/google/runs/[0-9a-f-]+$"))
    status = page.locator("[data-run-status]")
    expect(status).to_have_text("succeeded", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("[data-run-count=created]")).to_have_text(str(PEOPLE))
    expect(page.locator("[data-run-count=failed]")).to_have_text("0")
    expect(page.locator("[data-run-group-count=members_added]")).to_have_text(
        str(PEOPLE)
    )
    expect(page.locator("[data-run-duration]")).to_contain_text("ms")
    screenshot(page, "sync-run")
    with scim_server.client(scim_url) as direct:
        assert len(list_resources(direct, "Users")) == PEOPLE

    # The run's requests in the request log, marked as sent by the sync.
    page.click("[data-run-requests]")
    expect(page.locator("[data-sender-filter]")).to_contain_text("sync:google")
    rows = page.locator("tr[data-entry-id]")
    for _ in range(40):
        if rows.count() >= PEOPLE:
            break
        page.wait_for_timeout(250)
        page.reload()
    assert rows.count() >= PEOPLE
    expect(page.locator("tbody[data-log-rows]")).to_contain_text("POST")

    # The source page lists the run with its counts.
    page.goto(f"{base}/admin/integrations/{integration}/google")
    run_row = page.locator("#runs tbody tr").first
    expect(run_row).to_contain_text("succeeded")
    expect(run_row.locator("td").nth(2)).to_have_text(str(PEOPLE))
    screenshot(page, "google-source")
    page.goto(f"{base}/admin/integrations/{integration}")
    expect(page.locator("#google-source")).to_contain_text("succeeded")
