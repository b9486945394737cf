"""The admin API's routes, mounted by the relay under /api/v1."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scimrelay.admin.operations import Admin
from scimrelay.api import handlers, sync_handlers
from scimrelay.api.framework import ApiHandler, error_response, json_response, operation
from scimrelay.api.openapi import document

# (method, path, handler, access): access is "admin" or "owner"; the OpenAPI
# document is public.
OPERATIONS: list[tuple[str, str, ApiHandler, str]] = [
    ("GET", "/tenants", handlers.list_tenants, "admin"),
    ("POST", "/tenants", handlers.create_tenant, "owner"),
    ("GET", "/tenants/{tenant_id}", handlers.get_tenant, "admin"),
    ("DELETE", "/tenants/{tenant_id}", handlers.delete_tenant, "owner"),
    ("GET", "/integrations", handlers.list_integrations, "admin"),
    ("POST", "/integrations", handlers.create_integration, "admin"),
    ("GET", "/integrations/{integration_id}", handlers.get_integration, "admin"),
    ("PATCH", "/integrations/{integration_id}", handlers.update_integration, "admin"),
    ("DELETE", "/integrations/{integration_id}", handlers.delete_integration, "admin"),
    ("POST", "/integrations/{integration_id}/test", handlers.test_integration, "admin"),
    ("POST", "/integrations/{integration_id}/rotate-key", handlers.rotate_key, "admin"),
    (
        "POST",
        "/integrations/{integration_id}/keys/{key_id}/revoke",
        handlers.revoke_key,
        "admin",
    ),
    *[
        (method, f"/integrations/{{integration_id}}{path}", handler, "admin")
        for method, path, handler in (
            ("GET", "/google-source", sync_handlers.get_google_source),
            ("PUT", "/google-source", sync_handlers.set_google_source),
            ("DELETE", "/google-source", sync_handlers.delete_google_source),
            ("POST", "/sync/preview", sync_handlers.preview_sync),
            ("POST", "/sync/runs", sync_handlers.start_sync),
            ("GET", "/sync/runs", sync_handlers.list_sync_runs),
            ("GET", "/sync/runs/{run_id}", sync_handlers.get_sync_run),
        )
    ],
    ("GET", "/logs", handlers.list_logs, "admin"),
    ("GET", "/logs/export", handlers.export_logs, "admin"),
    ("GET", "/logs/{entry_id:int}", handlers.get_log_entry, "admin"),
    ("GET", "/tokens", handlers.list_tokens, "admin"),
    ("POST", "/tokens", handlers.create_token, "admin"),
    ("DELETE", "/tokens/{token_id}", handlers.revoke_token, "admin"),
    ("GET", "/audit", handlers.list_audit, "admin"),
]


async def openapi(_request: Request) -> Response:
    return json_response(document())


async def not_found(_request: Request, _error: Exception) -> Response:
    return error_response(
        404, "not_found", "no such API path: see /api/v1/openapi.json"
    )


async def not_allowed(_request: Request, _error: Exception) -> Response:
    return error_response(405, "method_not_allowed", "see /api/v1/openapi.json")


def create_api(admin: Admin) -> Starlette:
    """Build the admin API application for the relay to mount."""
    routes = [Route("/openapi.json", openapi, methods=["GET"])]
    routes += [
        Route(
            path, operation(admin, handler, owner=access == "owner"), methods=[method]
        )
        for method, path, handler, access in OPERATIONS
    ]
    return Starlette(
        routes=routes, exception_handlers={404: not_found, 405: not_allowed}
    )
