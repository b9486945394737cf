"""What a downstream offers, read from its discovery endpoints (RFC 7644 §4).

``ServiceProviderConfig``, ``Schemas`` and ``ResourceTypes`` are read once,
kept for ``REFRESH_SECONDS`` and then read again; ``scimrelay integration
refresh-capabilities`` stores a fresh reading that every relay process picks
up with the next configuration reload.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import orjson
import structlog

from scimrelay.adapt.schemas import SchemaInfo, builtin_schema_info, schema_info
from scimrelay.errors import ScimError
from scimrelay.relay.client import DownstreamClient
from scimrelay.relay.directory import RuntimeIntegration

logger = structlog.get_logger(__name__)

REFRESH_SECONDS = 3600.0
FAILURE_SECONDS = 60.0


@dataclass(frozen=True)
class Capabilities:
    """The downstream's features as its ServiceProviderConfig states them."""

    patch: bool = True
    bulk: bool = True
    bulk_max_operations: int | None = None
    bulk_max_payload: int | None = None
    filter: bool = True
    max_results: int | None = None
    sort: bool = False
    etag: bool = False
    cursor: bool = False
    index: bool = True
    has_config: bool = False
    has_schemas: bool = False
    has_resource_types: bool = False
    schema_documents: tuple[dict[str, Any], ...] = ()
    resource_types: tuple[tuple[str, str], ...] = ()
    fetched_at: float = 0.0
    schemas: SchemaInfo = field(default_factory=builtin_schema_info, compare=False)

    @property
    def cursor_only(self) -> bool:
        """Tell whether only RFC 9865 cursors page through lists."""
        return self.cursor and not self.index

    def to_dict(self) -> dict[str, Any]:
        stored = asdict(self)
        stored.pop("schemas")
        stored["schema_documents"] = list(self.schema_documents)
        return stored

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> Capabilities:
        known = {name for name in cls.__dataclass_fields__ if name != "schemas"}
        values = {key: value for key, value in stored.items() if key in known}
        values["schema_documents"] = tuple(values.get("schema_documents") or ())
        values["resource_types"] = tuple(
            (str(endpoint), str(schema))
            for endpoint, schema in values.get("resource_types") or ()
        )
        return with_schemas(cls(**values))


def with_schemas(capabilities: Capabilities) -> Capabilities:
    """Index the schema documents, or fall back to RFC 7643's own schemas."""
    if not capabilities.has_schemas:
        return replace(capabilities, schemas=builtin_schema_info())
    info = schema_info(capabilities.schema_documents, announced=True)
    return replace(capabilities, schemas=info)


def from_config(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """Read the features of a ServiceProviderConfig document (RFC 7643 §5)."""
    if config is None:
        return {}
    bulk = _section(config, "bulk")
    filters = _section(config, "filter")
    paging = _section(config, "pagination")
    return {
        "has_config": True,
        "patch": bool(_section(config, "patch").get("supported", True)),
        "bulk": bool(bulk.get("supported", False)),
        "bulk_max_operations": _number(bulk.get("maxOperations")),
        "bulk_max_payload": _number(bulk.get("maxPayloadSize")),
        "filter": bool(filters.get("supported", False)),
        "max_results": _number(filters.get("maxResults")),
        "sort": bool(_section(config, "sort").get("supported", False)),
        "etag": bool(_section(config, "etag").get("supported", False)),
        "cursor": bool(paging.get("cursor", False)),
        "index": bool(paging.get("index", True)),
    }


def _section(config: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    for key, value in config.items():
        if key.lower() == name.lower() and isinstance(value, Mapping):
            return value
    return {}


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and value > 0 else None


async def fetch_capabilities(
    client: DownstreamClient, scim_url: str, headers: Mapping[str, str]
) -> Capabilities:
    """Read the three discovery endpoints; a missing one leaves the defaults."""
    config, schemas, types = await asyncio.gather(
        _read(client, scim_url, "ServiceProviderConfig", headers),
        _read(client, scim_url, "Schemas", headers),
        _read(client, scim_url, "ResourceTypes", headers),
    )
    documents = tuple(_listed(schemas)) if schemas is not None else ()
    found = Capabilities(
        **from_config(config),
        has_schemas=bool(documents),
        has_resource_types=types is not None,
        schema_documents=documents,
        resource_types=announced_types(types),
        fetched_at=time.time(),
    )
    return with_schemas(found)


async def _read(
    client: DownstreamClient, scim_url: str, name: str, headers: Mapping[str, str]
) -> dict[str, Any] | None:
    outbound = {**headers, "Accept": "application/scim+json"}
    try:
        response = await client.send("GET", f"{scim_url}/{name}", outbound, None)
    except ScimError as error:
        logger.warning(
            "discovery endpoint unreachable", endpoint=name, error=error.detail
        )
        return None
    if response.status != 200:
        return None
    try:
        document = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, dict) or not _is_scim(document, name):
        return None
    return document


def _is_scim(document: dict[str, Any], name: str) -> bool:
    """Tell a discovery document from some other JSON (RFC 7644 §4)."""
    if name == "ServiceProviderConfig":
        return any(key in document for key in ("patch", "filter", "bulk"))
    return isinstance(document.get("Resources"), list)


def announced_types(document: dict[str, Any] | None) -> tuple[tuple[str, str], ...]:
    """Return each ResourceType's endpoint and core schema (RFC 7643 §6).

    Endpoints are kept as announced, without their leading slash; the relay
    compares them with the first segment of a request path in any case.
    """
    found = []
    for item in _listed(document) if document is not None else []:
        endpoint, schema = item.get("endpoint"), item.get("schema")
        if not isinstance(endpoint, str) or not isinstance(schema, str):
            continue
        if endpoint.strip("/"):
            found.append((endpoint.strip("/"), schema))
    return tuple(found)


def _listed(document: dict[str, Any]) -> list[dict[str, Any]]:
    items = document.get("Resources")
    if not isinstance(items, list):
        items = [document] if "attributes" in document else []
    return [item for item in items if isinstance(item, dict)]


class CapabilityCache:
    """Per-integration capabilities, fetched on first use and kept fresh."""

    def __init__(
        self, client: DownstreamClient, refresh_seconds: float = REFRESH_SECONDS
    ) -> None:
        self._client = client
        self._refresh = refresh_seconds
        self._cache: dict[tuple[str, str], Capabilities] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._stored: dict[tuple[str, str], Capabilities] = {}
        self._stored_at: dict[tuple[str, str], Any] = {}

    async def get(self, integration: RuntimeIntegration) -> Capabilities:
        """Return fresh capabilities, preferring a newer stored reading."""
        key = (integration.id, integration.scim_url)
        best = self._best(key, integration)
        if best is not None and self._fresh(best):
            return best

        lock = self._locks.setdefault(integration.id, asyncio.Lock())
        async with lock:
            best = self._best(key, integration)
            if best is not None and self._fresh(best):
                return best
            found = await fetch_capabilities(
                self._client, integration.scim_url, integration.outbound_headers
            )
            self._cache[key] = found
            logger.info("downstream capabilities read", **_summary(found))
            return found

    def peek(self, integration: RuntimeIntegration) -> Capabilities | None:
        """Return the capabilities known now, however old, without reading any."""
        return self._best((integration.id, integration.scim_url), integration)

    def _best(
        self, key: tuple[str, str], integration: RuntimeIntegration
    ) -> Capabilities | None:
        stored = integration.capabilities
        if stored and stored.get("fetched_at") != self._stored_at.get(key):
            self._stored[key] = Capabilities.from_dict(stored)
            self._stored_at[key] = stored.get("fetched_at")
        return _newest(self._cache.get(key), self._stored.get(key) if stored else None)

    def _fresh(self, found: Capabilities) -> bool:
        return time.time() - found.fetched_at < self._lifetime(found)

    def _lifetime(self, found: Capabilities) -> float:
        return self._refresh if found.has_config else FAILURE_SECONDS

    async def keep_fresh(self, integrations: Any, interval: float = 60.0) -> None:
        """Re-read stale capabilities of integrations in use, until cancelled."""
        while True:
            await asyncio.sleep(interval)
            for integration_id, _url in list(self._cache):
                integration = integrations.get(integration_id)
                if integration is None:
                    continue
                try:
                    await self.get(integration)
                except Exception:
                    logger.exception("capability refresh failed")


def _newest(*found: Capabilities | None) -> Capabilities | None:
    present = [item for item in found if item is not None]
    return max(present, key=lambda item: item.fetched_at) if present else None


def _summary(found: Capabilities) -> dict[str, Any]:
    names = ("patch", "bulk", "filter", "max_results", "etag", "cursor", "index")
    return {name: getattr(found, name) for name in names}
