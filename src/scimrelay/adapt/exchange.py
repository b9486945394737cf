"""One relayed request, and the downstream responses the relay builds itself."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from multidict import CIMultiDict, CIMultiDictProxy

from scimrelay.relay.client import DownstreamResponse
from scimrelay.relay.directory import RuntimeIntegration

SCIM_MEDIA_TYPE = "application/scim+json"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
Transport = Callable[
    [str, str, Mapping[str, str], bytes | None], Awaitable[DownstreamResponse]
]


class Sender(Protocol):
    """Sends a request derived from the provider's to the same downstream."""

    async def __call__(
        self,
        method: str,
        path: str,
        query: str,
        body: bytes | None,
        if_match: str | None = None,
    ) -> DownstreamResponse: ...


@dataclass
class Call:
    """A provider request on its way downstream, with what was done to it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes | None
    integration: RuntimeIntegration
    applied: list[str] = field(default_factory=list)
    original_body: bytes | None = None
    transport: Transport | None = field(default=None, repr=False)

    @property
    def segments(self) -> list[str]:
        return [segment for segment in self.path.split("/") if segment]

    def target(self) -> str:
        """Return the downstream URL of this request."""
        url = self.integration.scim_url + self.path
        return f"{url}?{self.query}" if self.query else url

    def note(self, name: str) -> None:
        """Record an applied rule or adaptation for the request log."""
        if name not in self.applied:
            self.applied.append(name)


def made_response(
    status: int, document: Any = None, headers: Mapping[str, str] | None = None
) -> DownstreamResponse:
    """Build a downstream-shaped answer that the relay made itself."""
    fields = CIMultiDict(headers or {})
    body = b""
    if document is not None:
        body = orjson.dumps(document)
        fields["Content-Type"] = SCIM_MEDIA_TYPE
    return DownstreamResponse(status, CIMultiDictProxy(fields), body, 0.0)


def json_body(response: DownstreamResponse) -> dict[str, Any] | None:
    """Decode a JSON object answer, or return None for anything else."""
    if not response.body:
        return None
    try:
        document = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        return None
    return document if isinstance(document, dict) else None


def list_response(resources: list[Any], total: int, start: int) -> dict[str, Any]:
    """Build a ListResponse (RFC 7644 §3.4.2)."""
    return {
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
