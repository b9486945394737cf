"""Rules that fix attribute values: dotted keys, read-only keys, booleans."""

from __future__ import annotations

from typing import Any

from scim2_models.path import AttrPath

from scimrelay.adapt.rules.base import (
    Target,
    attr_of,
    is_patch,
    operations,
    parse_path,
    pathless_values,
    value_path,
)
from scimrelay.adapt.schemas import SchemaInfo
from scimrelay.errors import InvalidValue

TRUE_WORDS = frozenset({"true"})
FALSE_WORDS = frozenset({"false"})


def nest_dotted_keys(document: dict[str, Any], target: Target) -> bool:
    """Turn ``"name.givenName"`` keys of a path-less value into nested objects."""
    changed = False
    for value in pathless_values(document):
        for key in [key for key in value if _is_dotted(key)]:
            attr = attr_of(parse_path(key))
            if attr is None:
                continue
            _place(value, attr, value.pop(key), target.resource_urn)
            changed = True
    return changed


def _is_dotted(key: str) -> bool:
    if key.lower().startswith("urn:"):
        return ":" in key[4:] and not key.rstrip().endswith(":")
    return "." in key


def _place(value: dict[str, Any], attr: AttrPath, item: Any, core: str | None) -> None:
    holder = value
    if attr.uri and attr.uri.lower() != (core or "").lower():
        holder = _child(value, attr.uri)
    if attr.sub_attr is None:
        holder[attr.attr] = item
        return
    _child(holder, attr.attr)[attr.sub_attr] = item


def _child(holder: dict[str, Any], name: str) -> dict[str, Any]:
    for key, existing in holder.items():
        if key.lower() == name.lower() and isinstance(existing, dict):
            return existing
    holder[name] = {}
    child: dict[str, Any] = holder[name]
    return child


def drop_read_only(document: dict[str, Any], target: Target) -> bool:
    """Drop ``id``, ``meta`` and read-only attributes from path-less values."""
    urn = target.resource_urn or ""
    changed = False
    for value in pathless_values(document):
        for key in list(value):
            if target.schemas.read_only(urn, key) or key.lower() == "schemas":
                del value[key]
                changed = True
    if changed:
        _drop_empty_operations(document)
    return changed


def _drop_empty_operations(document: dict[str, Any]) -> None:
    document["Operations"] = [
        operation
        for operation in operations(document)
        if operation.get("path") or operation.get("value") != {}
    ]


def string_booleans(document: dict[str, Any], target: Target) -> bool:
    """Turn ``"True"``/``"False"`` into JSON booleans where the schema says boolean.

    Any other string for a boolean attribute is a 400 ``invalidValue``
    (RFC 7644 §3.12).
    """
    urn = target.resource_urn
    if urn is None:
        return False
    if not is_patch(document, target):
        return _walk(document, urn, "", target.schemas)

    changed = False
    for operation in operations(document):
        if "value" not in operation:
            continue
        changed = _patch_value(operation, urn, target.schemas) or changed
    return changed


def _patch_value(operation: dict[str, Any], core: str, schemas: SchemaInfo) -> bool:
    node = parse_path(operation.get("path"))
    if node is None:
        return _walk(operation["value"], core, "", schemas)
    selected = value_path(node)
    attr = attr_of(node) or (selected.attr_path if selected else None)
    if attr is None:
        return False
    urn = attr.uri or core
    name = attr.attr
    sub = attr.sub_attr or (selected.sub_attr if selected else None)
    if sub:
        name = f"{name}.{sub}"
    boxed = {"value": operation["value"]}
    changed = _convert(boxed, "value", urn, name, schemas)
    operation["value"] = boxed["value"]
    return changed


def _walk(value: Any, urn: str, prefix: str, schemas: SchemaInfo) -> bool:
    if isinstance(value, list):
        return any([_walk(item, urn, prefix, schemas) for item in value])
    if not isinstance(value, dict):
        return False

    changed = False
    for key in list(value):
        if not prefix and schemas.knows(key) and isinstance(value[key], dict):
            changed = _walk(value[key], key, "", schemas) or changed
            continue
        name = f"{prefix}.{key}" if prefix else key
        changed = _convert(value, key, urn, name, schemas) or changed
    return changed


def _convert(
    holder: dict[str, Any], key: str, urn: str, name: str, schemas: SchemaInfo
) -> bool:
    attribute = schemas.lookup(urn, name)
    item = holder[key]
    if attribute is None:
        return False
    if attribute.type == "complex" and "." not in name:
        return _walk(item, urn, name, schemas)
    if attribute.type != "boolean" or not isinstance(item, str):
        return False
    holder[key] = _boolean(item, name)
    return True


def _boolean(text: str, name: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise InvalidValue(
        f"the attribute {name!r} is boolean; {text!r} is neither true nor false"
    )
