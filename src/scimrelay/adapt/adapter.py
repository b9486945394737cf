"""The adapter between a provider request and the downstream.

``Adapter.relay`` sends a request downstream and returns the answer to shape
for the provider. Requests that need nothing (a GET of one resource, a DELETE,
anything under the ``generic`` profile that the downstream supports) are sent
byte for byte without being parsed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog

from scimrelay.adapt.bulk import check_limits, run_bulk
from scimrelay.adapt.capabilities import Capabilities, CapabilityCache
from scimrelay.adapt.catalog import PATCH_NO_CONTENT
from scimrelay.adapt.discovery import (
    DISCOVERY,
    amend_config,
    bulk_limits,
    relay_document,
)
from scimrelay.adapt.emulation import emulate_patch, send_split
from scimrelay.adapt.exchange import Call, Sender, json_body, made_response
from scimrelay.adapt.member_stream import stream_split
from scimrelay.adapt.members import needs_split, split_members
from scimrelay.adapt.pagination import Paginator
from scimrelay.adapt.rules import APPLY, Target
from scimrelay.adapt.rules.base import operations
from scimrelay.adapt.schemas import builtin_schema_info, resource_schema
from scimrelay.adapt.search import Searcher
from scimrelay.adapt.settings import Adaptation
from scimrelay.errors import InvalidSyntax
from scimrelay.relay.client import DownstreamClient, DownstreamResponse

logger = structlog.get_logger(__name__)

SEARCH = ".search"
CONDITIONAL = frozenset({"if-match", "if-none-match"})
NOT_SUPPORTED = frozenset({405, 501})
Handler = Callable[[Call], Awaitable[DownstreamResponse]]


class Adapter:
    """Applies profile rules and capability adaptations to one request."""

    def __init__(self, client: DownstreamClient, capabilities: CapabilityCache) -> None:
        self.client = client
        self.capabilities = capabilities
        self.paginator = Paginator()
        self.searcher = Searcher(self.paginator)

    async def relay(self, call: Call) -> DownstreamResponse:
        """Send a request downstream, adapting it where it needs it."""
        handler = self._route(call)
        if handler is None:
            send = call.transport or self.client.send
            return await send(call.method, call.target(), call.headers, call.body)
        return await handler(call)

    def _route(self, call: Call) -> Handler | None:
        segments = call.segments
        first = segments[0].lower() if segments else ""
        if call.method == "GET" and first in DISCOVERY:
            return self._discovery
        if call.method == "POST" and first == "bulk":
            return self._bulk
        if call.method == "GET" and len(segments) == 1:
            return self._list
        if call.method == "POST" and _is_search(segments):
            return self._search
        if call.method == "PATCH" and len(segments) == 2:
            return self._patch
        if call.method in ("POST", "PUT") and call.integration.rules and call.body:
            return self._write
        return None

    async def _write(self, call: Call) -> DownstreamResponse:
        capabilities = await self.capabilities.get(call.integration)
        self._rewrite(call, _document(call.body), capabilities)
        return await self._send(call, call.method, call.path, call.query, call.body)

    async def _patch(self, call: Call) -> DownstreamResponse:
        capabilities = self.capabilities.peek(call.integration)
        if call.integration.rules and capabilities is None:
            capabilities = await self.capabilities.get(call.integration)
        limit = Adaptation.from_dict(call.integration.adaptation).max_members_per_patch
        unsupported = capabilities is not None and not capabilities.patch
        streamed = None if unsupported else await self._split_streamed(call, limit)
        if streamed is not None:
            return await self._after_patch(call, streamed)
        document = None
        if call.integration.rules or unsupported or _may_split(call, limit):
            document = _document(call.body)
            self._rewrite(call, document, capabilities)
        if document is not None and not operations(document):
            response = await self._send(call, "GET", call.path, "", None)
        elif unsupported:
            response = await self._emulate(call, document)
        elif document is not None and needs_split(document, limit):
            bodies = split_members(document, limit)
            response = await send_split(call, bodies, len(bodies), self._sender(call))
        else:
            response = await self._send(call, "PATCH", call.path, call.query, call.body)
            if response.status in NOT_SUPPORTED and capabilities is None:
                response = await self._patch_refused(call, response)
        return await self._after_patch(call, response)

    async def _split_streamed(
        self, call: Call, limit: int
    ) -> DownstreamResponse | None:
        """Send a large membership change split while reading it, if it can be.

        Returns None when the caller must parse the body whole instead.
        """
        # NOTE: an integration with rewrite rules still parses the whole body,
        # because the rules work on the parsed document.
        if call.integration.rules or not _may_split(call, limit):
            return None
        plan = stream_split(call.body or b"", limit)
        if plan is None:
            return None
        return await send_split(call, plan.bodies(), plan.total, self._sender(call))

    async def _patch_refused(
        self, call: Call, response: DownstreamResponse
    ) -> DownstreamResponse:
        """Read the capabilities after a 405 or 501, and emulate PATCH if absent."""
        capabilities = await self.capabilities.get(call.integration)
        if capabilities.patch:
            return response
        return await self._emulate(call, None)

    async def _emulate(
        self, call: Call, document: dict[str, Any] | None
    ) -> DownstreamResponse:
        document = document if document is not None else _document(call.body)
        return await emulate_patch(call, document, self._sender(call))

    async def _after_patch(
        self, call: Call, response: DownstreamResponse
    ) -> DownstreamResponse:
        """Answer 200 with the resource where the profile needs it (RFC 7644 §3.5.2)."""
        if response.status != 204 or PATCH_NO_CONTENT not in call.integration.rules:
            return response
        call.note(PATCH_NO_CONTENT)
        return await self._send(call, "GET", call.path, "", None)

    async def _list(self, call: Call) -> DownstreamResponse:
        return await self.paginator.answer(
            call,
            self._sender(call),
            self.capabilities.peek(call.integration),
            lambda: self.capabilities.get(call.integration),
        )

    async def _search(self, call: Call) -> DownstreamResponse:
        return await self.searcher.answer(
            call,
            self._sender(call),
            self.capabilities.peek(call.integration),
            lambda: self.capabilities.get(call.integration),
        )

    async def _discovery(self, call: Call) -> DownstreamResponse:
        response = await self._send(call, "GET", call.path, call.query, None)
        document = json_body(response)
        segments = call.segments
        if response.status == 200 and document is not None:
            if segments[0].lower() == "serviceproviderconfig" and amend_config(
                document
            ):
                call.note("config-amended")
                return made_response(200, document, _etag(response))
            return response
        capabilities = await self.capabilities.get(call.integration)
        made = relay_document(segments, capabilities, call.integration)
        if made is None:
            return response
        call.note("relay-discovery")
        logger.info("downstream lacks a discovery endpoint", status=response.status)
        return made_response(200, made)

    async def _bulk(self, call: Call) -> DownstreamResponse:
        capabilities = await self.capabilities.get(call.integration)
        document = _document(call.body)
        check_limits(call, document, *bulk_limits(capabilities))
        if capabilities.bulk:
            self._rewrite_bulk(call, document, capabilities)
            return await self._send(call, "POST", call.path, call.query, call.body)
        call.note("bulk-emulated")
        result = await run_bulk(call, document, self.relay)
        return made_response(200, result)

    def _rewrite(
        self,
        call: Call,
        document: dict[str, Any],
        capabilities: Capabilities | None,
    ) -> None:
        """Apply the integration's rules; keep the original body if any applied."""
        schemas = capabilities.schemas if capabilities else builtin_schema_info()
        target = Target(call.method, resource_schema(call.path), schemas)
        if self._apply(call, document, target):
            call.original_body = call.original_body or call.body
            call.body = orjson.dumps(document)

    def _rewrite_bulk(
        self, call: Call, document: dict[str, Any], capabilities: Capabilities
    ) -> None:
        """Apply the rules to each operation of a Bulk request sent as it is."""
        changed = False
        for operation in document.get("Operations") or []:
            if not isinstance(operation, dict) or not isinstance(
                operation.get("data"), dict
            ):
                continue
            method = str(operation.get("method", "")).upper()
            path = str(operation.get("path", ""))
            target = Target(method, resource_schema(path), capabilities.schemas)
            changed = self._apply(call, operation["data"], target) or changed
        if changed:
            call.original_body = call.original_body or call.body
            call.body = orjson.dumps(document)

    def _apply(self, call: Call, document: dict[str, Any], target: Target) -> bool:
        """Apply each enabled rule in order; record the ones that changed something."""
        applied = False
        for name in call.integration.rules:
            rule = APPLY.get(name)
            if rule is not None and rule(document, target):
                call.note(name)
                applied = True
        return applied

    def _sender(self, call: Call) -> Sender:
        async def send(
            method: str,
            path: str,
            query: str,
            body: bytes | None,
            if_match: str | None = None,
        ) -> DownstreamResponse:
            return await self._send(call, method, path, query, body, if_match)

        return send

    async def _send(
        self,
        call: Call,
        method: str,
        path: str,
        query: str,
        body: bytes | None,
        if_match: str | None = None,
    ) -> DownstreamResponse:
        """Send a request the relay derived from the provider's."""
        headers = dict(call.headers)
        if method != call.method or path != call.path:
            headers = {k: v for k, v in headers.items() if k.lower() not in CONDITIONAL}
        if body is None:
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        else:
            headers.setdefault("content-type", "application/scim+json")
        if if_match:
            headers["If-Match"] = if_match
        url = call.integration.scim_url + path + (f"?{query}" if query else "")
        send = call.transport or self.client.send
        return await send(method, url, headers, body)


def _document(body: bytes | None) -> dict[str, Any]:
    try:
        document = orjson.loads(body or b"")
    except orjson.JSONDecodeError as error:
        raise InvalidSyntax(f"the request body is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise InvalidSyntax("the request body must be a JSON object")
    return document


def _is_search(segments: list[str]) -> bool:
    """Tell a POST ``.search`` on the root or on one resource type (RFC 7644 §3.4.3)."""
    return 0 < len(segments) <= 2 and segments[-1].lower() == SEARCH


def _may_split(call: Call, limit: int) -> bool:
    first = call.segments[0].lower()
    return first == "groups" and (call.body or b"").count(b'"value"') > limit


def _etag(response: DownstreamResponse) -> dict[str, str]:
    etag = response.headers.get("ETag")
    return {"ETag": etag} if etag else {}
