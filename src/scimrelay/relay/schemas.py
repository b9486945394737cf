"""What each downstream announces in ``/Schemas``, read once and cached."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson
import structlog

from scimrelay.errors import ScimError
from scimrelay.relay.client import DownstreamClient
from scimrelay.relay.directory import RuntimeIntegration

logger = structlog.get_logger(__name__)

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
CACHE_SECONDS = 600.0
FAILURE_CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class _Cached:
    group_has_description: bool
    expires: float


class SchemaCache:
    """Per-integration facts about the downstream's schemas."""

    def __init__(self, client: DownstreamClient) -> None:
        self._client = client
        self._cache: dict[tuple[str, str], _Cached] = {}

    async def group_has_description(self, integration: RuntimeIntegration) -> bool:
        """Return whether the downstream's Group schema has ``description``."""
        cache_key = (integration.id, integration.scim_url)
        cached = self._cache.get(cache_key)
        if cached is not None and cached.expires > time.monotonic():
            return cached.group_has_description

        found, lifetime = await self._fetch(integration)
        self._cache[cache_key] = _Cached(found, time.monotonic() + lifetime)
        return found

    async def _fetch(self, integration: RuntimeIntegration) -> tuple[bool, float]:
        headers = dict(integration.outbound_headers)
        headers["Accept"] = "application/scim+json"
        try:
            response = await self._client.send(
                "GET", f"{integration.scim_url}/Schemas", headers, None
            )
            schemas = _schema_list(orjson.loads(response.body))
        except (ScimError, orjson.JSONDecodeError, ValueError) as error:
            logger.warning(
                "downstream schemas unreadable; groups get no description",
                integration_id=integration.id,
                error=str(error),
            )
            return False, FAILURE_CACHE_SECONDS

        group = next((item for item in schemas if item.get("id") == GROUP_SCHEMA), {})
        names = {
            str(attribute.get("name", "")).lower()
            for attribute in group.get("attributes") or []
            if isinstance(attribute, dict)
        }
        return "description" in names, CACHE_SECONDS


def _schema_list(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, dict) and isinstance(document.get("Resources"), list):
        items = document["Resources"]
    elif isinstance(document, list):
        items = document
    else:
        raise ValueError("the /Schemas answer is neither a ListResponse nor a list")
    return [item for item in items if isinstance(item, dict)]
