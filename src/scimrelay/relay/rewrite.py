"""Rewriting of bodies between the provider and the downstream."""

from __future__ import annotations

import string
from typing import Any

import orjson

from scimrelay.relay.directory import RuntimeIntegration

REFERENCE_KEYS = frozenset({"location", "$ref"})


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
    """Rewrite the downstream URLs a JSON body gives for resources.

    These are every ``location`` (``meta.location`` and Bulk results, RFC 7644
    §3.7) and every ``$ref`` (members, groups and manager, RFC 7643 §2.3.7).
    Other attributes keep their values. Bodies that do not mention the
    downstream base URL are returned unchanged without being parsed.
    ``document``, the body already parsed by the caller, is used (and changed)
    instead of parsing the body again.
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

    _rewrite_references(document, downstream_base, relay_base)
    return orjson.dumps(document)


def _rewrite_references(node: Any, downstream_base: str, relay_base: str) -> None:
    if isinstance(node, list):
        for item in node:
            _rewrite_references(item, downstream_base, relay_base)
        return
    if not isinstance(node, dict):
        return

    for key, value in node.items():
        if key in REFERENCE_KEYS and isinstance(value, str):
            node[key] = rewrite_location(value, downstream_base, relay_base)
        elif isinstance(value, dict | list):
            _rewrite_references(value, downstream_base, relay_base)


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
