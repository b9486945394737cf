"""Discovery documents (RFC 7644 §4) describing what the relay offers.

When the downstream serves no ``ServiceProviderConfig``, ``Schemas`` or
``ResourceTypes``, the relay answers with its own, so that providers never see
an HTML 404; a downstream ServiceProviderConfig is amended to announce the
features the relay emulates.
"""

from __future__ import annotations

from typing import Any

from scimrelay.adapt.capabilities import Capabilities
from scimrelay.adapt.exchange import list_response
from scimrelay.adapt.listing import MAX_COUNT
from scimrelay.adapt.schemas import (
    ENTERPRISE_SCHEMA,
    GROUP_SCHEMA,
    USER_SCHEMA,
    builtin_documents,
)
from scimrelay.relay.directory import RuntimeIntegration

CONFIG_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
BULK_MAX_OPERATIONS = 1000
BULK_MAX_PAYLOAD = 1_048_576
DISCOVERY = {
    "serviceproviderconfig": "ServiceProviderConfig",
    "schemas": "Schemas",
    "resourcetypes": "ResourceTypes",
}


def bulk_limits(capabilities: Capabilities) -> tuple[int, int]:
    """Return the Bulk limits the relay announces: the downstream's, or its own."""
    if capabilities.bulk:
        return (
            capabilities.bulk_max_operations or BULK_MAX_OPERATIONS,
            capabilities.bulk_max_payload or BULK_MAX_PAYLOAD,
        )
    return BULK_MAX_OPERATIONS, BULK_MAX_PAYLOAD


def relay_config(
    capabilities: Capabilities, integration: RuntimeIntegration
) -> dict[str, Any]:
    """Describe the features the relay offers for an integration (RFC 7643 §5)."""
    operations, payload = bulk_limits(capabilities)
    schemes = [_scheme("oauthbearertoken", "OAuth Bearer Token")]
    if integration.provider_auth == "basic":
        schemes.append(_scheme("httpbasic", "HTTP Basic"))
    return {
        "schemas": [CONFIG_SCHEMA],
        "patch": {"supported": True},
        "bulk": {
            "supported": True,
            "maxOperations": operations,
            "maxPayloadSize": payload,
        },
        "filter": {"supported": True, "maxResults": MAX_COUNT},
        "changePassword": {"supported": False},
        "sort": {"supported": capabilities.sort},
        "etag": {"supported": capabilities.etag},
        "authenticationSchemes": schemes,
        "meta": _meta("ServiceProviderConfig", integration, "ServiceProviderConfig"),
    }


def amend_config(document: dict[str, Any]) -> bool:
    """Announce PATCH, Bulk and filtering, which the relay emulates if needed.

    A body without any of these sections is not a ServiceProviderConfig and
    is left as it is.
    """
    if not any(name in document for name in ("patch", "bulk", "filter")):
        return False
    changed = False
    for name in ("patch", "bulk", "filter"):
        section = document.get(name)
        if not isinstance(section, dict):
            section = document[name] = {}
        if section.get("supported") is not True:
            section["supported"] = True
            changed = True
    bulk = document["bulk"]
    for key, value in (
        ("maxOperations", BULK_MAX_OPERATIONS),
        ("maxPayloadSize", BULK_MAX_PAYLOAD),
    ):
        if not isinstance(bulk.get(key), int):
            bulk[key] = value
            changed = True
    return changed


def relay_schemas(integration: RuntimeIntegration) -> list[dict[str, Any]]:
    """Return RFC 7643's User, Group and enterprise User schemas."""
    documents = []
    for document in builtin_documents():
        copied = dict(document)
        copied["meta"] = _meta("Schema", integration, f"Schemas/{document['id']}")
        documents.append(copied)
    return documents


def relay_resource_types(integration: RuntimeIntegration) -> list[dict[str, Any]]:
    """Return the User and Group resource types (RFC 7643 §6)."""
    user = _type("User", "/Users", USER_SCHEMA, integration)
    user["schemaExtensions"] = [{"schema": ENTERPRISE_SCHEMA, "required": False}]
    return [user, _type("Group", "/Groups", GROUP_SCHEMA, integration)]


def relay_document(
    segments: list[str],
    capabilities: Capabilities,
    integration: RuntimeIntegration,
) -> dict[str, Any] | None:
    """Return the relay's answer to a discovery path, or None when it names nothing."""
    kind = segments[0].lower()
    if kind == "serviceproviderconfig":
        return relay_config(capabilities, integration)
    items = (
        relay_schemas(integration)
        if kind == "schemas"
        else relay_resource_types(integration)
    )
    if len(segments) == 1:
        return list_response(items, len(items), 1)
    wanted = segments[1].lower()
    return next((item for item in items if item["id"].lower() == wanted), None)


def _type(
    name: str, endpoint: str, schema: str, integration: RuntimeIntegration
) -> dict[str, Any]:
    return {
        "schemas": [TYPE_SCHEMA],
        "id": name,
        "name": name,
        "endpoint": endpoint,
        "schema": schema,
        "meta": _meta("ResourceType", integration, f"ResourceTypes/{name}"),
    }


def _scheme(kind: str, name: str) -> dict[str, Any]:
    return {"type": kind, "name": name, "description": f"{name} authentication"}


def _meta(kind: str, integration: RuntimeIntegration, path: str) -> dict[str, str]:
    return {"resourceType": kind, "location": f"{integration.scim_url}/{path}"}
