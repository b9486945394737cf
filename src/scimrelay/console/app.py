"""The console's routes, mounted by the relay under /admin."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scimrelay.admin.operations import Admin
from scimrelay.admin.sessions import SessionStore
from scimrelay.console import (
    auth_views,
    integration_views,
    log_views,
    settings_views,
    sync_views,
)
from scimrelay.console.framework import STATIC, Console, Handler, page
from scimrelay.settings import Settings

# Scripts and styles come from the relay only; the chart is an image.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]

# (method, path, handler, access): access is "public", "admin" or "owner".
PAGES: list[tuple[str, str, Handler, str]] = [
    ("GET", "/", auth_views.home, "admin"),
    ("GET", "/setup", auth_views.setup_form, "public"),
    ("POST", "/setup", auth_views.setup_submit, "public"),
    ("GET", "/login", auth_views.login_form, "public"),
    ("POST", "/login", auth_views.login_submit, "public"),
    ("POST", "/logout", auth_views.logout, "admin"),
    ("GET", "/integrations", integration_views.integration_list, "admin"),
    ("GET", "/integrations/new", integration_views.new_form, "admin"),
    ("POST", "/integrations", integration_views.create, "admin"),
    ("POST", "/integrations/test", integration_views.test_unsaved, "admin"),
    ("GET", "/integrations/{integration_id}", integration_views.detail, "admin"),
    (
        "GET",
        "/integrations/{integration_id}/edit",
        integration_views.edit_form,
        "admin",
    ),
    ("POST", "/integrations/{integration_id}", integration_views.update, "admin"),
    (
        "POST",
        "/integrations/{integration_id}/delete",
        integration_views.delete,
        "admin",
    ),
    (
        "POST",
        "/integrations/{integration_id}/test",
        integration_views.test_saved,
        "admin",
    ),
    (
        "POST",
        "/integrations/{integration_id}/rotate-key",
        integration_views.rotate_key,
        "admin",
    ),
    (
        "POST",
        "/integrations/{integration_id}/keys/{key_id}/revoke",
        integration_views.revoke_key,
        "admin",
    ),
    (
        "GET",
        "/integrations/{integration_id}/activity.svg",
        integration_views.activity_chart,
        "admin",
    ),
    *[
        (method, f"/integrations/{{integration_id}}/google{path}", handler, "admin")
        for method, path, handler in (
            ("GET", "", sync_views.source_page),
            ("POST", "", sync_views.source_save),
            ("POST", "/remove", sync_views.source_remove),
            ("POST", "/preview", sync_views.source_preview),
            ("POST", "/run", sync_views.sync_start),
            ("GET", "/runs/{run_id}", sync_views.run_detail),
        )
    ],
    ("GET", "/logs", log_views.log_list, "admin"),
    ("GET", "/logs/feed", log_views.log_feed, "admin"),
    ("GET", "/logs/export", log_views.export, "admin"),
    ("GET", "/logs/{entry_id:int}", log_views.log_entry, "admin"),
    ("GET", "/audit", settings_views.audit_list, "admin"),
    ("GET", "/tokens", settings_views.token_list, "admin"),
    ("POST", "/tokens", settings_views.token_create, "admin"),
    ("POST", "/tokens/{token_id}/revoke", settings_views.token_revoke, "admin"),
    ("GET", "/tenants", settings_views.tenant_list, "owner"),
    ("POST", "/tenants", settings_views.tenant_create, "owner"),
    ("POST", "/tenants/{tenant_id}/delete", settings_views.tenant_delete, "owner"),
    ("GET", "/admins", settings_views.admin_list, "owner"),
    ("POST", "/admins", settings_views.admin_create, "owner"),
    ("POST", "/admins/{user_id}/delete", settings_views.admin_delete, "owner"),
]


class SecurityHeaders:
    """Add the console's security headers and keep its pages out of caches."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += SECURITY_HEADERS
                if not scope["path"].startswith("/static"):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def routes(console: Console) -> list[BaseRoute]:
    table: list[BaseRoute] = [
        Route(
            path,
            page(console, handler, owner=access == "owner", public=access == "public"),
            methods=[method],
        )
        for method, path, handler, access in PAGES
    ]
    table.append(Mount("/static", StaticFiles(directory=str(STATIC)), name="static"))
    return table


def create_console(admin: Admin, settings: Settings) -> ASGIApp:
    """Build the console application for the relay to mount."""
    console = Console(admin, settings, SessionStore(admin.context.store))
    return SecurityHeaders(Starlette(routes=routes(console)))
