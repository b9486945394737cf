"""SCIM requests of a sync, sent through the relay's downstream pipeline.

Each request goes through :meth:`ScimEndpoint.forward`, like a relayed one.
So it carries the integration's token and custom headers, gets the group
description template, and passes the integration's rate limits, circuit
breaker and retries. It is queued in the request log with ``source`` set to
the sync's name.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import orjson
import structlog

from scimrelay.errors import (
    DownstreamRejected,
    DownstreamUnavailable,
    ScimError,
    TooManyRequests,
)
from scimrelay.relay.client import DownstreamResponse
from scimrelay.relay.directory import RuntimeIntegration
from scimrelay.requestlog.recorder import PendingEntry
from scimrelay.scim.endpoint import BASE_PREFIX, Exchange, ScimEndpoint
from scimrelay.scim.responses import SCIM_MEDIA_TYPE, normalise_error_body

logger = structlog.get_logger(__name__)

PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PAGE_SIZE = 500
MAX_PAGES = 10_000
BUSY_STATUSES = frozenset({429, 503})
BUSY_ATTEMPTS = 4
MAX_RETRY_AFTER = 30.0


class SyncScim:
    """A SCIM client for one integration's downstream, used by one run."""

    def __init__(
        self, integration: RuntimeIntegration, endpoint: ScimEndpoint, source: str
    ) -> None:
        self.integration = integration
        self.endpoint = endpoint
        self.source = source

    async def list_all(self, resource: str) -> list[dict[str, Any]]:
        """Read every page of ``/Users`` or ``/Groups`` (RFC 7644 §3.4.2.4)."""
        found: list[dict[str, Any]] = []
        start = 1
        for _ in range(MAX_PAGES):
            query = f"startIndex={start}&count={PAGE_SIZE}"
            page = await self.call("GET", f"/{resource}", query=query) or {}
            items = [i for i in page.get("Resources") or [] if isinstance(i, dict)]
            found.extend(items)
            if not items or len(found) >= int(page.get("totalResults") or 0):
                return found
            start += len(items)
        return found

    async def patch_supported(self) -> bool:
        """Return whether the downstream announces PATCH (RFC 7644 §5)."""
        try:
            config = await self.call("GET", "/ServiceProviderConfig") or {}
        except DownstreamRejected:
            return False
        patch = config.get("patch")
        return isinstance(patch, dict) and patch.get("supported") is True

    async def create(self, resource: str, document: dict[str, Any]) -> str:
        """POST a resource and return the id the downstream gave it."""
        created = await self.call("POST", f"/{resource}", document) or {}
        if not created.get("id"):
            raise DownstreamRejected(201, "the created resource has no id")
        return str(created["id"])

    async def replace(self, resource: str, item_id: str, document: Any) -> None:
        await self.call("PUT", f"/{resource}/{item_id}", document)

    async def patch(
        self, resource: str, item_id: str, operations: list[dict[str, Any]]
    ) -> None:
        document = {"schemas": [PATCH_SCHEMA], "Operations": operations}
        await self.call("PATCH", f"/{resource}/{item_id}", document)

    async def delete(self, resource: str, item_id: str) -> None:
        await self.call("DELETE", f"/{resource}/{item_id}")

    async def call(
        self, method: str, path: str, document: Any = None, query: str = ""
    ) -> dict[str, Any] | None:
        """Send one request and return the JSON body, retrying after 429 and 503."""
        body = orjson.dumps(document) if document is not None else None
        for attempt in range(BUSY_ATTEMPTS):
            response = await self._send(method, path, query, body)
            if response.status not in BUSY_STATUSES or attempt == BUSY_ATTEMPTS - 1:
                break
            await asyncio.sleep(_retry_after(response, attempt))
        if response.status >= 400:
            raise DownstreamRejected(response.status, self._error_detail(response))
        return _json(response.body, response.status)

    async def _send(
        self, method: str, path: str, query: str, body: bytes | None
    ) -> DownstreamResponse:
        """Forward one request, waiting while the integration's budget is spent."""
        while True:
            exchange = Exchange(uuid.uuid4().hex, self.integration, body=body)
            try:
                return await self._forward(exchange, (method, path, query))
            except TooManyRequests as error:
                wait = float(error.retry_after or 1)
                if wait > MAX_RETRY_AFTER:
                    raise DownstreamUnavailable(_resume_hint(error.detail)) from None
                await asyncio.sleep(wait)

    async def _forward(
        self, exchange: Exchange, target: tuple[str, str, str]
    ) -> DownstreamResponse:
        method, path, query = target
        call = (method, path, query, {"accept": SCIM_MEDIA_TYPE}, exchange.body)
        started = time.perf_counter()
        try:
            response = await self.endpoint.forward(self.integration, call, exchange)
        except ScimError as error:
            exchange.error = error.detail
            self._record(exchange, target, started, error.status)
            if isinstance(error, TooManyRequests):
                raise
            raise DownstreamUnavailable(_resume_hint(error.detail)) from None
        self._record(exchange, target, started, response.status)
        return response

    def _record(
        self,
        exchange: Exchange,
        target: tuple[str, str, str],
        started: float,
        status: int,
    ) -> None:
        """Queue the request log entry, with what the adapter rewrote."""
        method, path, query = target
        response = exchange.downstream
        call = exchange.call
        rewritten = call is not None and call.original_body is not None
        self.endpoint.recorder.record(
            PendingEntry(
                time=time.time(),
                request_id=exchange.request_id,
                method=method,
                path=f"{BASE_PREFIX}{self.integration.id}{path}",
                query=query,
                status=status,
                duration_ms=(time.perf_counter() - started) * 1000,
                client=None,
                tenant_id=self.integration.tenant_id,
                integration_id=self.integration.id,
                downstream_status=response.status if response else None,
                downstream_ms=response.elapsed_ms if response else None,
                error=exchange.error,
                request_body=call.body if call and rewritten else exchange.body,
                response_body=(response.body or None) if response else None,
                secret_values=exchange.secret_values(),
                source=self.source,
                applied_rules=call.applied if call else None,
                original_request_body=exchange.body if rewritten else None,
            )
        )

    def _error_detail(self, response: DownstreamResponse) -> str:
        content_type = response.headers.get("content-type", "")
        body = normalise_error_body(response.status, content_type, response.body)
        detail = str((_json(body, response.status) or {}).get("detail") or "no detail")
        for secret in self.integration.secret_values:
            detail = detail.replace(secret, "[secure]")
        return detail


def _json(body: bytes, status: int) -> dict[str, Any] | None:
    if not body:
        return None
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise DownstreamRejected(
            status, "the response is not JSON: check the integration's SCIM URL"
        ) from None
    return document if isinstance(document, dict) else None


def _resume_hint(detail: str) -> str:
    return f"{detail}; the next run picks up where this one stopped"


def _retry_after(response: DownstreamResponse, attempt: int) -> float:
    raw = response.headers.get("retry-after", "")
    if raw.isdigit():
        return min(MAX_RETRY_AFTER, float(raw))
    return float(2**attempt)
