"""Rewriting of bodies between the provider and the downstream."""

from __future__ import annotations

import string
from typing import Any

import orjson

from scimrelay.relay.directory import RuntimeIntegration


def rewrite_location(value: str, downstream_base: str, relay_base: str) -> str:
    """Move a downstream URL under the relay's base URL; leave others alone."""
    if value == downstream_base or value.startswith(downstream_base + "/"):
        return relay_base + value[len(downstream_base) :]
    return value


def rewrite_body_locations(
    body: bytes,
    downstream_base: str,
    relay_base: str,
    document: dict[str, Any] | None = None,
) -> bytes:
    """Rewrite ``meta.location`` (and Bulk ``location``) fields in a JSON body.

    Bodies that do not mention the downstream base URL are returned unchanged
    without being parsed. ``document``, the body already parsed by the
    caller, is used (and changed) instead of parsing the body again.
    """
    if downstream_base.encode() not in body:
        return body

    if document is None:
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            return body
    if not isinstance(document, dict):
        return body

    for resource in _resources(document):
        meta = resource.get("meta")
        if isinstance(meta, dict) and isinstance(meta.get("location"), str):
            meta["location"] = rewrite_location(
                meta["location"], downstream_base, relay_base
            )
        if isinstance(resource.get("location"), str):
            resource["location"] = rewrite_location(
                resource["location"], downstream_base, relay_base
            )
    return orjson.dumps(document)


def _resources(document: dict[str, Any]) -> list[dict[str, Any]]:
    """List a resource, a ListResponse's resources and a BulkResponse's results."""
    found = [document]
    for key in ("Resources", "Operations"):
        items = document.get(key)
        if isinstance(items, list):
            found.extend(item for item in items if isinstance(item, dict))
    for item in document.get("Operations") or []:
        if isinstance(item, dict) and isinstance(item.get("response"), dict):
            found.append(item["response"])
    return found


def group_description(integration: RuntimeIntegration, display_name: str) -> str:
    """Render the integration's group description template."""
    values = {
        "tenant_id": integration.tenant_id,
        "tenant_name": integration.tenant_name,
        "integration_id": integration.id,
        "integration_name": integration.name,
        "display_name": display_name,
    }
    return string.Formatter().vformat(integration.group_description, (), values)
