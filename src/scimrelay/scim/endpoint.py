"""The IdP-facing SCIM endpoint: ``/scim/v2/{integration_id}/...``.

Each request is authenticated against the cached integrations and forwarded to
the downstream SCIM server with the integration's token and headers. The
downstream's response goes back to the provider in SCIM form, and every
request is queued for the request log.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

import orjson
import structlog
from starlette.requests import Request
from starlette.responses import Response

from scimrelay.adapt.adapter import Adapter
from scimrelay.adapt.auth import accepts, presented_key
from scimrelay.adapt.capabilities import CapabilityCache
from scimrelay.adapt.exchange import Call, Transport
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
from scimrelay.requestid import new_request_id
from scimrelay.requestlog.masking import mentions_secret_attribute, password_values
from scimrelay.requestlog.recorder import PendingEntry, RequestRecorder
from scimrelay.resilience.backends import MemoryBackend
from scimrelay.resilience.guard import Resilience
from scimrelay.resilience.retry import Attempts
from scimrelay.scim import limits, responses
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
VISIBLE_ASCII = bytes(range(0x21, 0x7F))
TARGET_SAFE = VISIBLE_ASCII.decode().replace("%", "") + "%"
WWW_AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="scimrelay"'}


@dataclass(slots=True)
class Exchange:
    """The state of one relayed request, for the response and the log."""

    request_id: str
    integration: RuntimeIntegration | None = None
    body: bytes | None = None
    downstream: DownstreamResponse | None = None
    error: str | None = None
    attempts: Attempts = field(default_factory=Attempts)
    replay_of: int | None = None
    call: Call | None = None
    passwords: tuple[str, ...] = ()

    def secret_values(self) -> tuple[str, ...]:
        """The integration's secrets plus the passwords this request carried."""
        known = self.integration.secret_values if self.integration else ()
        return known + self.passwords


class ScimEndpoint:
    def __init__(
        self,
        settings: Settings,
        directory: Directory,
        client: DownstreamClient,
        schemas: SchemaCache,
        recorder: RequestRecorder,
        resilience: Resilience | None = None,
        adapter: Adapter | None = None,
    ) -> None:
        self.settings = settings
        self.directory = directory
        self.client = client
        self.schemas = schemas
        self.recorder = recorder
        self.resilience = resilience or Resilience(
            client, MemoryBackend(), settings.downstream_timeout
        )
        self.adapter = adapter or Adapter(client, CapabilityCache(client))

    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        exchange = Exchange(new_request_id())
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
        self, request: Request, integration_id: str, exchange: Exchange
    ) -> Response:
        settings = self.settings
        limits.check_headers(
            request.scope["headers"], settings.max_headers, settings.max_header_bytes
        )
        integration = self._authenticate(request, integration_id)
        exchange.integration = integration
        structlog.contextvars.bind_contextvars(tenant_id=integration.tenant_id)
        path, query = _downstream_target(request, integration_id)
        body = await self._read_body(request)
        exchange.body = body
        incoming = {
            name: value
            for name in FORWARDED_REQUEST_HEADERS
            if (value := responses.clean_header_value(request.headers.get(name)))
        }
        downstream = await self.forward(
            integration, (request.method, path, query, incoming, body), exchange
        )
        return self._answer(request, integration, downstream, exchange)

    async def forward(
        self,
        integration: RuntimeIntegration,
        call: tuple[str, str, str, dict[str, str], bytes | None],
        exchange: Exchange,
    ) -> DownstreamResponse:
        """Send a provider's call downstream: method, path, query, headers, body."""
        method, path, query, incoming, body = call
        body = await self._prepare_body(method, path, body, exchange)
        headers = _outbound_headers(incoming, integration, exchange.request_id, body)
        outbound = Call(method, path, query, headers, body, integration)
        outbound.transport = self._transport(integration, exchange)
        exchange.call = outbound
        exchange.downstream = await self.adapter.relay(outbound)
        return exchange.downstream

    def _transport(
        self, integration: RuntimeIntegration, exchange: Exchange
    ) -> Transport:
        """Return how the adapter sends: through the integration's policy.

        The function keeps the exchange's attempts, not the exchange, which
        contains the call that contains the function. Without that reference
        cycle, each request's objects are freed when it ends, not by the
        garbage collector.
        """
        attempts = exchange.attempts

        async def send(
            method: str, url: str, headers: Mapping[str, str], body: bytes | None
        ) -> DownstreamResponse:
            return await self.resilience.send(
                integration.id,
                integration.policy,
                (method, url, headers, body),
                attempts,
            )

        return send

    def _authenticate(
        self, request: Request, integration_id: str
    ) -> RuntimeIntegration:
        presented = presented_key(request.headers.get("authorization", ""))
        integration = None
        if presented is not None:
            scheme, key = presented
            integration = self.directory.authenticate(integration_id, key)
            if integration and not accepts(integration.provider_auth, scheme):
                integration = None
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
        exchange: Exchange,
    ) -> bytes | None:
        """Check that a body is JSON and fill in a created group's description."""
        if body is None or method not in BODY_METHODS:
            return body
        integration = exchange.integration
        assert integration is not None
        if _check_streamed(method, path, body):
            limits.check_json_streamed(body, self.settings.max_json_depth)
            return body

        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise InvalidSyntax(
                f"the request body is not valid JSON: {error}"
            ) from None
        limits.check_depth(body, document, self.settings.max_json_depth)
        exchange.passwords = password_values(document)
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
        exchange: Exchange,
    ) -> Response:
        status = downstream.status
        if not 200 <= status <= 599:
            raise BadGateway(
                f"the downstream SCIM server answered the invalid status {status}"
            )
        content_type = (
            responses.clean_header_value(downstream.headers.get("content-type")) or ""
        )
        body = downstream.body
        relay_base = self._relay_base(request, integration)
        if status >= 400:
            body = normalise_error_body(status, content_type, body)
        elif body and status != 304:
            document = responses.json_object(body)
            if document is None:
                raise BadGateway(_non_scim_detail(status, content_type))
            body = rewrite_body_locations(
                body, integration.scim_url, relay_base, document
            )
        body = responses.scrub(body, exchange.secret_values())

        headers = responses.clean_headers(downstream.headers, COPIED_RESPONSE_HEADERS)
        for name in LOCATION_HEADERS:
            location = responses.clean_header_value(downstream.headers.get(name))
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
            root = f"{request.scope['scheme']}://{host}"
        return f"{root}{BASE_PREFIX}{integration.id}"

    def _record(
        self,
        request: Request,
        exchange: Exchange,
        response: Response,
        started: float,
    ) -> None:
        integration = exchange.integration
        downstream = exchange.downstream
        call = exchange.call
        rewritten = call is not None and call.original_body is not None
        client = request.client
        self.recorder.record(
            PendingEntry(
                time=time.time(),
                request_id=exchange.request_id,
                method=request.method,
                path=request.scope["path"],
                query=_query(request),
                status=response.status_code,
                duration_ms=(time.perf_counter() - started) * 1000,
                client=client.host if client else None,
                tenant_id=integration.tenant_id if integration else None,
                integration_id=integration.id if integration else None,
                downstream_status=downstream.status if downstream else None,
                downstream_ms=downstream.elapsed_ms if downstream else None,
                error=exchange.error,
                request_body=call.body if call and rewritten else exchange.body,
                response_body=bytes(response.body) if response.body else None,
                secret_values=exchange.secret_values(),
                replay_of=exchange.replay_of,
                applied_rules=call.applied if call else None,
                original_request_body=exchange.body if rewritten else None,
            )
        )


def _downstream_target(request: Request, integration_id: str) -> tuple[str, str]:
    """Return the path below the integration's base and the query, as received.

    The raw bytes are used so that nothing is decoded twice. Empty segments are
    collapsed and dot segments rejected, so the path stays below the
    downstream base URL.
    """
    raw_path = request.scope.get("raw_path") or request.scope["path"].encode()
    prefix = f"{BASE_PREFIX}{integration_id}".encode()
    remainder = _printable(raw_path[len(prefix) :])
    segments = [segment for segment in remainder.split("/") if segment]
    if any(unquote(segment) in (".", "..") for segment in segments):
        raise ResourceNotFound("the path contains '.' or '..' segments")

    path = "/" + "/".join(segments) if segments else ""
    return path, _query(request)


def _query(request: Request) -> str:
    return _printable(request.scope.get("query_string", b""))


def _printable(raw: bytes) -> str:
    """Percent-encode bytes that may not appear in a request target (RFC 3986 §2.1).

    Everything else is kept as received, so nothing is decoded twice.
    """
    # Deleting the visible ASCII bytes leaves nothing when there is no other.
    if not raw.translate(None, VISIBLE_ASCII):
        return raw.decode("ascii")
    return quote(raw, safe=TARGET_SAFE)


def _outbound_headers(
    incoming: dict[str, str],
    integration: RuntimeIntegration,
    request_id: str,
    body: bytes | None,
) -> dict[str, str]:
    headers = dict(incoming)
    if body is not None and "content-type" not in headers:
        headers["content-type"] = SCIM_MEDIA_TYPE
    headers.update(integration.outbound_headers)
    headers["X-Request-ID"] = request_id
    return headers


def _check_streamed(method: str, path: str, body: bytes) -> bool:
    """Return whether to check a body without parsing it.

    That is a large body that mentions no password and creates no group.
    """
    if len(body) <= limits.STREAMED_CHECK_BYTES or mentions_secret_attribute(body):
        return False
    return not _is_group_creation(method, path, {})


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
