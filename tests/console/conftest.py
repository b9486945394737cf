"""Fixtures of the console and admin API tests: a browser, and an in-process relay.

The in-process relay is the real application (``create_app``) on a fresh
SQLite store, driven through Starlette's test client, with two tenants, an
owner and one tenant admin per tenant.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import Browser
from starlette.applications import Starlette
from starlette.testclient import TestClient

from scimrelay.admin.access import OWNER, TENANT_ADMIN
from scimrelay.admin.accounts import AdminView
from scimrelay.admin.operations import Admin
from scimrelay.app import create_app
from scimrelay.integrations.service import IntegrationInput
from scimrelay.settings import Secret, Settings
from scimrelay.store.models import RequestLogEntry
from tests.support.browser import chromium

PASSWORD = "a long enough password"
# Nothing listens on the discard port, so a connection test is refused at once.
UNUSED_DOWNSTREAM = "http://127.0.0.1:9/scim/v2"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as started:
        yield started


@dataclass
class Targets:
    """Objects of one tenant that a route can name."""

    world: World
    tenant_id: str
    integration_id: str
    integration_name: str
    key_id: str
    entry_id: int

    @property
    def admin_id(self) -> str:
        """Create a tenant admin on first use (password hashing is slow)."""
        email = f"{secrets.token_hex(4)}@example.com"
        accounts = self.world.admin.accounts
        return accounts.create_admin(email, PASSWORD, TENANT_ADMIN, self.tenant_id).id


@dataclass
class World:
    app: Starlette
    admin: Admin
    owner: AdminView
    tenant_admins: dict[str, AdminView] = field(default_factory=dict)
    tenants: dict[str, str] = field(default_factory=dict)
    signed_in: dict[str, TestClient] = field(default_factory=dict)

    def targets(self, tenant: str | None = None) -> Targets:
        """Create an integration and a log entry in ``tenant`` or a new tenant."""
        service = self.admin.context.service
        if tenant is None:
            tenant_id = service.create_tenant(f"tenant-{secrets.token_hex(3)}").id
        else:
            tenant_id = self.tenants[tenant]
        name = f"{tenant}-integration-{secrets.token_hex(3)}"
        created = service.create_integration(
            tenant_id,
            IntegrationInput(name=name, scim_url=UNUSED_DOWNSTREAM, token="downstream"),
        )
        entry_id = self.log_entry(tenant_id, created.integration.id)
        view = created.integration
        return Targets(self, tenant_id, view.id, name, created.key.key_id, entry_id)

    def log_entry(self, tenant_id: str, integration_id: str) -> int:
        entry = RequestLogEntry(
            time=datetime.now(UTC),
            request_id=secrets.token_hex(16),
            tenant_id=tenant_id,
            integration_id=integration_id,
            method="POST",
            path=f"/scim/v2/{integration_id}/Users",
            query="",
            status=201,
            downstream_status=201,
            duration_ms=12.5,
            downstream_ms=10.0,
            client="127.0.0.1",
            request_body='{"userName":"grace@example.com","password":"[secure]"}',
            response_body='{"id":"1","userName":"grace@example.com"}',
        )
        with self.admin.context.store.session() as session:
            session.add(entry)
            session.flush()
            return entry.id

    def token(self, user: AdminView) -> str:
        return self.admin.tokens.issue(
            user.id, f"token-{secrets.token_hex(3)}"
        ).plaintext

    def api(self, user: AdminView | None) -> TestClient:
        client = TestClient(self.app, base_url="http://127.0.0.1")
        if user is not None:
            client.headers["Authorization"] = f"Bearer {self.token(user)}"
        return client

    def console(self, user: AdminView | None, *, fresh: bool = False) -> TestClient:
        """Return a client signed in to the console as ``user``, reused unless fresh."""
        if user is not None and not fresh and user.id in self.signed_in:
            return self.signed_in[user.id]
        client = TestClient(
            self.app, base_url="http://127.0.0.1", follow_redirects=False
        )
        client.get("/admin/login")
        if user is not None:
            answer = client.post(
                "/admin/login",
                data={
                    "email": user.email,
                    "password": PASSWORD,
                    "csrf_token": csrf(client),
                },
            )
            assert answer.status_code == 303, answer.text
            if not fresh:
                self.signed_in[user.id] = client
        return client


def csrf(client: TestClient) -> str:
    return str(client.cookies.get("scimrelay_csrf"))


def build_world(data_dir: Path, database_url: str | None = None) -> Iterator[World]:
    """Start the relay on a SQLite store in ``data_dir``, or on ``database_url``."""
    settings = Settings(data_dir=data_dir, allow_private_downstreams=True)
    if database_url is not None:
        key = Secret(Fernet.generate_key().decode())
        settings = replace(settings, database_url=database_url, secret_key=key)
    app = create_app(settings)
    with TestClient(app):
        admin = Admin.open(app.state.relay.context)
        owner = admin.accounts.create_admin("owner@example.com", PASSWORD, OWNER)
        world = World(app, admin, owner)
        for tenant in ("alpha", "beta"):
            tenant_id = admin.context.service.create_tenant(tenant).id
            world.tenants[tenant] = tenant_id
            world.tenant_admins[tenant] = admin.accounts.create_admin(
                f"admin@{tenant}.example", PASSWORD, TENANT_ADMIN, tenant_id
            )
        yield world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from build_world(tmp_path_factory.mktemp("console"))
