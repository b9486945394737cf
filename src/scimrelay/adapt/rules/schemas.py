"""Rules about schema URNs the downstream does not announce (RFC 7643 §3)."""

from __future__ import annotations

from typing import Any

from scimrelay.adapt.rules.base import PATCH_SCHEMA, Target

MESSAGE_PREFIX = "urn:ietf:params:scim:api:messages:"


def drop_unknown_schemas(document: dict[str, Any], target: Target) -> bool:
    """Remove URNs missing from the downstream's ``/Schemas``, with their attributes.

    Nothing is removed when the downstream announces no schemas, since then
    the relay cannot tell a vendor URN from one the downstream accepts.
    """
    schemas = document.get("schemas")
    if not target.schemas.announced or not isinstance(schemas, list):
        return False
    unknown = [
        urn
        for urn in schemas
        if isinstance(urn, str)
        and not urn.lower().startswith(MESSAGE_PREFIX)
        and urn != PATCH_SCHEMA
        and not target.schemas.knows(urn)
    ]
    if not unknown:
        return False

    document["schemas"] = [urn for urn in schemas if urn not in unknown]
    lowered = {urn.lower() for urn in unknown}
    for key in [key for key in document if key.lower() in lowered]:
        del document[key]
    return True
