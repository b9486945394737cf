"""Request handling of the admin API: bearer token, role check, JSON in and out."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from scimrelay.admin.operations import Admin, AdminOperations
from scimrelay.errors import (
    AccessDenied,
    FieldError,
    NotFoundError,
    SettingsError,
    SyncBusy,
    SyncError,
)

logger = structlog.get_logger(__name__)

MAX_BODY = 1024 * 1024
BODY_METHODS = ("POST", "PATCH", "PUT")


def json_response(
    value: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(value),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def error_response(
    status: int, code: str, message: str, errors: list[FieldError] | None = None
) -> Response:
    body: dict[str, Any] = {"error": code, "message": message}
    if errors is not None:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    headers = None
    if status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="scimrelay admin API"'}
    return json_response(body, status, headers)


@dataclass
class ApiCall:
    request: Request
    ops: AdminOperations
    body: dict[str, Any]

    def path(self, name: str) -> str:
        return str(self.request.path_params[name])

    def query(self, name: str) -> str | None:
        return self.request.query_params.get(name)


ApiHandler = Callable[[ApiCall], Response]


def operation(
    admin: Admin, handler: ApiHandler, *, owner: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler with authentication, the role check and JSON errors."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        body: dict[str, Any] = {}
        if request.method in BODY_METHODS:
            raw = await request.body()
            parsed = _parse(raw)
            if isinstance(parsed, Response):
                return parsed
            body = parsed
        return await run_in_threadpool(_run, admin, request, handler, body, owner)

    return endpoint


def _parse(raw: bytes) -> dict[str, Any] | Response:
    if len(raw) > MAX_BODY:
        return error_response(413, "too_large", f"the body is over {MAX_BODY} bytes")
    if not raw.strip():
        return {}
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        return error_response(
            400, "invalid_json", f"the body is not valid JSON: {error}"
        )
    if not isinstance(document, dict):
        return error_response(400, "invalid_json", "the body must be a JSON object")
    return document


def _run(
    admin: Admin,
    request: Request,
    handler: ApiHandler,
    body: dict[str, Any],
    owner: bool,
) -> Response:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    user = admin.tokens.resolve(token.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        return error_response(
            401,
            "unauthorized",
            "send an admin API token as 'Authorization: Bearer <token>'",
        )
    client = request.client.host if request.client else None
    ops = admin.acting(user.actor("api", client))
    try:
        if owner:
            ops.actor.require_owner()
        return handler(ApiCall(request, ops, body))
    except SettingsError as error:
        return error_response(422, "invalid", str(error), error.errors)
    except NotFoundError as error:
        return error_response(404, "not_found", str(error))
    except AccessDenied as error:
        return error_response(403, "forbidden", str(error))
    except SyncBusy as error:
        return error_response(409, "sync_running", str(error))
    except SyncError as error:
        # Google or the downstream rejected or failed, and the message names which.
        logger.warning("admin API sync action failed", error=str(error))
        return error_response(502, "sync_failed", str(error))
