"""Mapping of Google Workspace users to SCIM users (RFC 7643 §4.1 and §4.3).

A user is reduced to *fields*: a flat dict from a target name (``userName``,
``name.givenName``, ``enterprise.department``...) to a value. The same names
read the downstream's copy, so a comparison is a dict comparison, and write
them into a SCIM document. ``userName``, ``externalId``, ``active`` and the
primary work email are fixed. The other targets come from a mapping that an
operator may change per source (see :data:`DEFAULT_MAPPING`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from scimrelay.integrations.validation import Checked

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ENTERPRISE = "enterprise."
MANAGER = "enterprise.manager"
FIXED_TARGETS = ("userName", "externalId", "active", "emails")
# Compared without regard to case: RFC 7643 §4.1.1 and §4.1.2, caseExact false.
CASELESS_TARGETS = frozenset({"userName", "emails"})
READ_ONLY_ATTRIBUTES = ("meta", "groups")

DEFAULT_MAPPING: dict[str, str] = {
    "name.givenName": "name.givenName",
    "name.familyName": "name.familyName",
    "name.formatted": "name.fullName",
    "displayName": "name.fullName",
    "title": "organizations.title",
    "enterprise.department": "organizations.department",
    "enterprise.costCenter": "organizations.costCenter",
    "enterprise.employeeNumber": "externalIds[organization].value",
    "enterprise.manager": "relations[manager].value",
}
MAPPABLE_TARGETS = frozenset(
    {
        *DEFAULT_MAPPING,
        "name.middleName",
        "name.honorificPrefix",
        "name.honorificSuffix",
        "nickName",
        "profileUrl",
        "userType",
        "preferredLanguage",
        "locale",
        "timezone",
        "enterprise.organization",
        "enterprise.division",
    }
)
SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[([A-Za-z0-9_-]+)\])?")


def effective_mapping(override: Mapping[str, str | None]) -> dict[str, str]:
    """Apply an operator's override to the default mapping; None drops a target."""
    mapping = dict(DEFAULT_MAPPING)
    for target, source in override.items():
        if source:
            mapping[target] = source
        else:
            mapping.pop(target, None)
    return mapping


def check_mapping(
    override: Mapping[str, str | None], checked: Checked
) -> dict[str, str | None]:
    """Check mapping targets and source expressions; reject the unknown ones."""
    result: dict[str, str | None] = {}
    for target, source in override.items():
        field_name = f"mapping.{target}"
        if target not in MAPPABLE_TARGETS:
            allowed = ", ".join(sorted(MAPPABLE_TARGETS))
            checked.reject(
                field_name, f"is not a target that can be mapped: use {allowed}"
            )
        elif source and not all(SEGMENT.fullmatch(part) for part in source.split(".")):
            checked.reject(
                field_name,
                f"{source!r} is not a Google user field: use a dotted path such as "
                "organizations.title or externalIds[organization].value",
            )
        result[target] = source or None
    return result


def source_value(user: Mapping[str, Any], expression: str) -> str | None:
    """Read a dotted path from a Google user; a list yields its primary item.

    ``name[type]`` picks the list item of that type, as in
    ``relations[manager].value``.
    """
    node: Any = user
    for part in expression.split("."):
        match = SEGMENT.fullmatch(part)
        if match is None or not isinstance(node, Mapping):
            return None
        node = node.get(match.group(1))
        if isinstance(node, list):
            node = _pick(node, match.group(2))
        if node is None:
            return None
    if isinstance(node, bool | int | float | str):
        return str(node).strip() or None
    return None


def _pick(items: list[Any], kind: str | None) -> Any:
    candidates = [item for item in items if isinstance(item, Mapping)]
    if kind is not None:
        return next((item for item in candidates if item.get("type") == kind), None)
    primary = [item for item in candidates if item.get("primary") is True]
    chosen = primary or candidates
    return chosen[0] if chosen else None


def google_fields(
    user: Mapping[str, Any], mapping: Mapping[str, str]
) -> dict[str, Any]:
    """Return a Google user's fields; ``enterprise.manager`` is an email here."""
    email = str(user.get("primaryEmail", ""))
    fields: dict[str, Any] = {
        "userName": email,
        "externalId": str(user["id"]),
        "active": not (user.get("suspended") or user.get("archived")),
        "emails": email,
    }
    for target, expression in mapping.items():
        fields[target] = source_value(user, expression)
    return fields


def downstream_fields(
    resource: Mapping[str, Any], targets: list[str]
) -> dict[str, Any]:
    """Read the same fields from a downstream SCIM user."""
    return {target: read_target(resource, target) for target in targets}


def read_target(resource: Mapping[str, Any], target: str) -> Any:
    if target == "emails":
        return _primary_email(resource)
    if target == "active":
        return _get(resource, "active") is not False
    container, name = _location(resource, target)
    value = _get(container, name) if container is not None else None
    if target == MANAGER:
        value = _get(value, "value") if isinstance(value, Mapping) else value
    return value


def changed_targets(
    desired: Mapping[str, Any], current: Mapping[str, Any]
) -> list[str]:
    """List the targets whose desired and current values differ."""
    return [
        target
        for target, value in desired.items()
        if _comparable(target, value) != _comparable(target, current.get(target))
    ]


def _comparable(target: str, value: Any) -> Any:
    if value is None or value == "":
        return None
    if target in CASELESS_TARGETS:
        return str(value).lower()
    return value


def user_document(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Build the SCIM user to create from its fields."""
    document: dict[str, Any] = {"schemas": [USER_SCHEMA]}
    return merged_document(document, fields)


def merged_document(
    resource: Mapping[str, Any], fields: Mapping[str, Any]
) -> dict[str, Any]:
    """Write fields into a copy of a downstream user, for a PUT (RFC 7644 §3.5.1).

    Attributes the mapping does not name are kept; read-only ones are dropped.
    """
    document = copy.deepcopy(dict(resource))
    for name in READ_ONLY_ATTRIBUTES:
        _pop(document, name)
    for target, value in fields.items():
        _write(document, target, value)
    schemas = [s for s in document.get("schemas") or [USER_SCHEMA] if s]
    schemas = [s for s in schemas if s != ENTERPRISE_SCHEMA]
    if _get(document, ENTERPRISE_SCHEMA):
        schemas.append(ENTERPRISE_SCHEMA)
    document["schemas"] = schemas
    return document


def group_document(
    display_name: str, external_id: str, member_ids: list[str]
) -> dict[str, Any]:
    """Build the SCIM group to create (RFC 7643 §4.2)."""
    return {
        "schemas": [GROUP_SCHEMA],
        "displayName": display_name,
        "externalId": external_id,
        "members": [{"value": member_id} for member_id in member_ids],
    }


def _write(document: dict[str, Any], target: str, value: Any) -> None:
    if target == "emails":
        _write_email(document, value)
        return
    if target == MANAGER:
        value = {"value": value} if value else None
    outer, name = _split(target)
    if outer is None:
        _set(document, name, value)
        return
    container = _get(document, outer)
    container = dict(container) if isinstance(container, Mapping) else {}
    _set(container, name, value)
    _set(document, outer, container or None)


def _split(target: str) -> tuple[str | None, str]:
    """Return the complex attribute (or extension) holding a target, and its name."""
    if target.startswith(ENTERPRISE):
        return ENTERPRISE_SCHEMA, target[len(ENTERPRISE) :]
    if "." in target:
        outer, name = target.split(".", 1)
        return outer, name
    return None, target


def _write_email(document: dict[str, Any], email: str | None) -> None:
    others = [
        {**item, "primary": False}
        for item in _get(document, "emails") or []
        if isinstance(item, Mapping)
        and str(item.get("value", "")).lower() != (email or "").lower()
    ]
    primary = [{"value": email, "type": "work", "primary": True}] if email else []
    _set(document, "emails", primary + others or None)


def _primary_email(resource: Mapping[str, Any]) -> str | None:
    emails = [e for e in _get(resource, "emails") or [] if isinstance(e, Mapping)]
    chosen = _pick(emails, None)
    return str(chosen.get("value")) if chosen and chosen.get("value") else None


def _location(
    resource: Mapping[str, Any], target: str
) -> tuple[Mapping[str, Any] | None, str]:
    outer, name = _split(target)
    if outer is None:
        return resource, name
    container = _get(resource, outer)
    return (container if isinstance(container, Mapping) else None), name


def _key(container: Mapping[str, Any], name: str) -> str | None:
    """Find an attribute's key; names are case-insensitive (RFC 7643 §2.1)."""
    if name in container:
        return name
    lowered = name.lower()
    return next((key for key in container if key.lower() == lowered), None)


def _get(container: Any, name: str | None) -> Any:
    if not isinstance(container, Mapping) or name is None:
        return None
    key = _key(container, name)
    return container[key] if key is not None else None


def _set(container: dict[str, Any], name: str, value: Any) -> None:
    _pop(container, name)
    if value is not None and value != "":
        container[name] = value


def _pop(container: dict[str, Any], name: str) -> None:
    key = _key(container, name)
    if key is not None:
        del container[key]
