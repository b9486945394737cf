"""Rules that rewrite PATCH operations into the form of RFC 7644 §3.5.2."""

from __future__ import annotations

from typing import Any

import orjson

from scimrelay.adapt.rules.base import (
    Target,
    attr_of,
    is_patch,
    op_name,
    operations,
    parse_path,
    pathless_values,
    value_path,
)
from scimrelay.adapt.schemas import ENTERPRISE_SCHEMA

READ_ONLY_SCHEMA_KEYS = ("schemas",)


def lowercase_ops(document: dict[str, Any], target: Target) -> bool:
    """Send ``Replace``/``Add``/``Remove`` as the lower-case RFC 7644 names."""
    changed = False
    for operation in operations(document):
        op = operation.get("op")
        if isinstance(op, str) and op != op.lower():
            operation["op"] = op.lower()
            changed = True
    return changed


def remove_members_by_value(document: dict[str, Any], target: Target) -> bool:
    """Turn ``remove members`` with a value list into one filtered removal each."""
    if not is_patch(document, target):
        return False

    rewritten: list[Any] = []
    changed = False
    for operation in document["Operations"]:
        split = _member_removals(operation)
        changed = changed or split is not None
        rewritten.extend(split if split is not None else [operation])
    if changed:
        document["Operations"] = rewritten
    return changed


def _member_removals(operation: Any) -> list[dict[str, Any]] | None:
    if not isinstance(operation, dict) or op_name(operation) != "remove":
        return None
    if str(operation.get("path", "")).lower() != "members":
        return None
    values = operation.get("value")
    if isinstance(values, dict):
        values = [values]
    if not isinstance(values, list) or not values:
        return None
    ids = [item.get("value") for item in values if isinstance(item, dict)]
    if len(ids) != len(values) or not all(isinstance(i, str) for i in ids):
        return None
    return [
        {"op": "remove", "path": f"members[value eq {orjson.dumps(i).decode()}]"}
        for i in ids
    ]


def manager_value(document: dict[str, Any], target: Target) -> bool:
    """Wrap a bare enterprise ``manager`` id as ``{"value": id}`` (RFC 7643 §4.3)."""
    if not is_patch(document, target):
        return _wrap_manager(document.get(ENTERPRISE_SCHEMA))

    changed = False
    for operation in operations(document):
        attr = attr_of(parse_path(operation.get("path")))
        is_manager = (
            attr is not None
            and (attr.uri or "").lower() == ENTERPRISE_SCHEMA.lower()
            and attr.attr.lower() == "manager"
            and attr.sub_attr is None
        )
        if is_manager and isinstance(operation.get("value"), str):
            operation["value"] = {"value": operation["value"]}
            changed = True
    for value in pathless_values(document):
        changed = _wrap_manager(_enterprise_part(value)) or changed
    return changed


def _enterprise_part(value: dict[str, Any]) -> Any:
    for key, item in value.items():
        if key.lower() == ENTERPRISE_SCHEMA.lower():
            return item
    return None


def _wrap_manager(extension: Any) -> bool:
    if not isinstance(extension, dict):
        return False
    for key, item in extension.items():
        if key.lower() == "manager" and isinstance(item, str):
            extension[key] = {"value": item}
            return True
    return False


def add_as_replace(document: dict[str, Any], target: Target) -> bool:
    """Send ``add`` on a single-valued attribute as ``replace`` (RFC 7644 §3.5.2.1).

    For a single-valued attribute both operations set the value, so the
    rewrite never changes the result.
    """
    if not is_patch(document, target):
        return False

    changed = False
    for operation in operations(document):
        if op_name(operation) != "add" or not operation.get("path"):
            continue
        node = parse_path(operation["path"])
        if value_path(node) is None and _single_valued(attr_of(node), target):
            operation["op"] = "replace"
            changed = True
    return changed


def _single_valued(attr: Any, target: Target) -> bool:
    if attr is None:
        return False
    urn = attr.uri or target.resource_urn
    if urn is None:
        return False
    found = target.schemas.lookup(urn, attr.attr)
    if found is None or found.multi_valued:
        return False
    if attr.sub_attr is None:
        return True
    sub = target.schemas.lookup(urn, f"{attr.attr}.{attr.sub_attr}")
    return sub is not None and not sub.multi_valued
