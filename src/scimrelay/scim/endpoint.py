"""The IdP-facing SCIM endpoint: ``/scim/v2/{integration_id}/...``.

Each request is authenticated against the cached integrations, forwarded to
the downstream SCIM server with the integration's token and headers, and
answered in SCIM form. Every answered request is queued for the request log.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from urllib.parse import unquote

import orjson
import structlog
from starlette.requests import Request
from starlette.responses import Response

from scimrelay.errors import (
    BadGateway,
    InvalidSyntax,
    PayloadTooLarge,
    ResourceNotFound,
    ScimError,
    Unauthorized,
)
from scimrelay.relay.client import DownstreamClient, DownstreamResponse
from scimrelay.relay.directory import Directory, RuntimeIntegration
from scimrelay.relay.rewrite import (
    group_description,
    rewrite_body_locations,
    rewrite_location,
)
from scimrelay.relay.schemas import SchemaCache
from scimrelay.requestlog.recorder import PendingEntry, RequestRecorder
from scimrelay.scim.responses import (
    SCIM_MEDIA_TYPE,
    error_document,
    error_response,
    normalise_error_body,
)
from scimrelay.settings import Settings

logger = structlog.get_logger(__name__)

BASE_PREFIX = "/scim/v2/"
FORWARDED_REQUEST_HEADERS = ("content-type", "accept", "if-match", "if-none-match")
COPIED_RESPONSE_HEADERS = ("etag", "retry-after")
LOCATION_HEADERS = ("Location", "Content-Location")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
UNAUTHORIZED_DETAIL = "the SCIM API key is missing, invalid or revoked"
WWW_AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="scimrelay"'}


@dataclass(slots=True)
class _Exchange:
    """What one relayed request collected, for the answer and the log."""

    request_id: str
    integration: RuntimeIntegration | None = None
    body: bytes | None = None
    downstream: DownstreamResponse | None = None
    error: str | None = None


class ScimEndpoint:
    def __init__(
        self,
        settings: Settings,
        directory: Directory,
        client: DownstreamClient,
        schemas: SchemaCache,
        recorder: RequestRecorder,
    ) -> None:
        self.settings = settings
        self.directory = directory
        self.client = client
        self.schemas = schemas
        self.recorder = recorder

    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        exchange = _Exchange(uuid.uuid4().hex)
        integration_id = request.path_params["integration_id"]
        # The tenant is known after authentication; until then it logs as null.
        structlog.contextvars.bind_contextvars(
            request_id=exchange.request_id,
            tenant_id=None,
            integration_id=integration_id,
        )
        try:
            response = await self._relay(request, integration_id, exchange)
        except ScimError as error:
            exchange.error = error.detail
            headers = WWW_AUTHENTICATE if isinstance(error, Unauthorized) else None
            response = error_response(error, headers)
        except Exception:
            logger.exception("request failed unexpectedly")
            exchange.error = "internal error"
            response = Response(
                orjson.dumps(
                    error_document(
                        500, f"internal error; request id {exchange.request_id}"
                    )
                ),
                status_code=500,
                media_type=SCIM_MEDIA_TYPE,
            )
        finally:
            structlog.contextvars.clear_contextvars()

        response.headers["X-Request-ID"] = exchange.request_id
        self._record(request, exchange, response, started)
        return response

    async def _relay(
        self, request: Request, integration_id: str, exchange: _Exchange
    ) -> Response:
        integration = self._authenticate(request, integration_id)
        exchange.integration = integration
        structlog.contextvars.bind_contextvars(tenant_id=integration.tenant_id)
        path, query = _downstream_target(request, integration_id)
        body = await self._read_body(request)
        exchange.body = body
        body = await self._prepare_body(request.method, path, body, integration)

        url = integration.scim_url + path + (f"?{query}" if query else "")
        headers = _outbound_headers(request, integration, exchange.request_id, body)
        downstream = await self.client.send(request.method, url, headers, body)
        exchange.downstream = downstream
        return self._answer(request, integration, downstream)

    def _authenticate(
        self, request: Request, integration_id: str
    ) -> RuntimeIntegration:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        integration = None
        if scheme.lower() == "bearer" and credentials:
            integration = self.directory.authenticate(
                integration_id, credentials.strip()
            )
        if integration is None:
            raise Unauthorized(UNAUTHORIZED_DETAIL)
        return integration

    async def _read_body(self, request: Request) -> bytes | None:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(_too_large(limit))

        chunks = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(_too_large(limit))
            chunks.append(chunk)
        return b"".join(chunks) or None

    async def _prepare_body(
        self,
        method: str,
        path: str,
        body: bytes | None,
        integration: RuntimeIntegration,
    ) -> bytes | None:
        """Check that a body is JSON and fill in a created group's description."""
        if body is None or method not in BODY_METHODS:
            return body

        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise InvalidSyntax(
                f"the request body is not valid JSON: {error}"
            ) from None
        if not _is_group_creation(method, path, document):
            return body
        if "description" in document:
            return body
        if not (
            integration.force_group_description
            or await self.schemas.group_has_description(integration)
        ):
            return body

        display_name = str(document.get("displayName") or "")
        document["description"] = group_description(integration, display_name)
        return orjson.dumps(document)

    def _answer(
        self,
        request: Request,
        integration: RuntimeIntegration,
        downstream: DownstreamResponse,
    ) -> Response:
        status = downstream.status
        content_type = downstream.headers.get("content-type", "")
        body = downstream.body
        relay_base = self._relay_base(request, integration)
        if status >= 400:
            body = normalise_error_body(status, content_type, body)
        elif body and status != 304:
            if body.lstrip()[:1] not in (b"{", b"["):
                raise BadGateway(_non_scim_detail(status, content_type))
            body = rewrite_body_locations(body, integration.scim_url, relay_base)

        headers = {
            name: downstream.headers[name]
            for name in COPIED_RESPONSE_HEADERS
            if name in downstream.headers
        }
        for name in LOCATION_HEADERS:
            location = downstream.headers.get(name)
            if location:
                headers[name] = rewrite_location(
                    location, integration.scim_url, relay_base
                )
        if status in (204, 304) or not body:
            return Response(status_code=status, headers=headers)
        return Response(
            body, status_code=status, media_type=SCIM_MEDIA_TYPE, headers=headers
        )

    def _relay_base(self, request: Request, integration: RuntimeIntegration) -> str:
        root = self.settings.public_url
        if root is None:
            host = request.headers.get("host") or "localhost"
            root = f"{request.url.scheme}://{host}"
        return f"{root}{BASE_PREFIX}{integration.id}"

    def _record(
        self,
        request: Request,
        exchange: _Exchange,
        response: Response,
        started: float,
    ) -> None:
        integration = exchange.integration
        downstream = exchange.downstream
        client = request.client
        self.recorder.record(
            PendingEntry(
                time=time.time(),
                request_id=exchange.request_id,
                method=request.method,
                path=request.url.path,
                query=request.url.query,
                status=response.status_code,
                duration_ms=(time.perf_counter() - started) * 1000,
                client=client.host if client else None,
                tenant_id=integration.tenant_id if integration else None,
                integration_id=integration.id if integration else None,
                downstream_status=downstream.status if downstream else None,
                downstream_ms=downstream.elapsed_ms if downstream else None,
                error=exchange.error,
                request_body=exchange.body,
                response_body=bytes(response.body) if response.body else None,
                secret_values=integration.secret_values if integration else (),
            )
        )


def _downstream_target(request: Request, integration_id: str) -> tuple[str, str]:
    """Return the path below the integration's base and the query, as received.

    The raw bytes are used so that nothing is decoded twice; empty segments are
    collapsed and dot segments rejected, so the path cannot climb out of the
    downstream base URL.
    """
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    prefix = f"{BASE_PREFIX}{integration_id}".encode()
    remainder = raw_path[len(prefix) :].decode("latin-1")
    segments = [segment for segment in remainder.split("/") if segment]
    if any(unquote(segment) in (".", "..") for segment in segments):
        raise ResourceNotFound("the path contains '.' or '..' segments")

    path = "/" + "/".join(segments) if segments else ""
    query = request.scope.get("query_string", b"").decode("latin-1")
    return path, query


def _outbound_headers(
    request: Request,
    integration: RuntimeIntegration,
    request_id: str,
    body: bytes | None,
) -> dict[str, str]:
    headers = {
        name: request.headers[name]
        for name in FORWARDED_REQUEST_HEADERS
        if name in request.headers
    }
    if body is not None and "content-type" not in headers:
        headers["content-type"] = SCIM_MEDIA_TYPE
    headers.update(integration.outbound_headers)
    headers["X-Request-ID"] = request_id
    return headers


def _is_group_creation(method: str, path: str, document: object) -> bool:
    return method == "POST" and path.lower() == "/groups" and isinstance(document, dict)


def _non_scim_detail(status: int, content_type: str) -> str:
    kind = content_type.split(";")[0] or "an unlabelled body"
    return (
        f"the downstream SCIM server answered {status} with {kind} instead of "
        "SCIM JSON: check the integration's SCIM URL"
    )


def _too_large(limit: int) -> str:
    return f"the request body is larger than the relay's limit of {limit} bytes"
