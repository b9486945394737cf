"""The routes that put the console and the admin API into the relay's app."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from scimrelay.admin.operations import Admin
from scimrelay.api.app import create_api
from scimrelay.console.app import create_console
from scimrelay.context import AppContext
from scimrelay.settings import Settings
from scimrelay.sync.scheduler import SyncScheduler


async def to_console(_request: Request) -> Response:
    return RedirectResponse("/admin/", status_code=307)


def admin_routes(
    context: AppContext, settings: Settings, scheduler: SyncScheduler | None = None
) -> list[BaseRoute]:
    """Return the console under /admin and the admin API under /api/v1."""
    admin = Admin.open(context, scheduler)
    return [
        Route("/", to_console, methods=["GET"]),
        Mount("/admin", create_console(admin, settings)),
        Mount("/api/v1", create_api(admin)),
    ]
