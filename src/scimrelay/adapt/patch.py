"""PATCH operations applied by the relay itself (RFC 7644 §3.5.2).

Used to emulate PATCH on downstreams that only offer PUT. The resource is the
JSON the downstream returned, so unknown attributes and extensions survive.
"""

from __future__ import annotations

from typing import Any

from scim2_models.path import AttrPath, ValuePath

from scimrelay.adapt.filters import matches
from scimrelay.adapt.rules.base import op_name, operations, parse_path
from scimrelay.errors import InvalidSyntax, NoTarget

MUTABLE_OPS = frozenset({"add", "replace", "remove"})


def apply_patch(resource: dict[str, Any], document: dict[str, Any], core: str) -> None:
    """Apply every operation of a PatchOp body to ``resource``, in order."""
    for operation in operations(document):
        op = op_name(operation)
        if op not in MUTABLE_OPS:
            raise InvalidSyntax(f"the PATCH op {operation.get('op')!r} is unknown")
        node = parse_path(operation.get("path"))
        value = operation.get("value")
        if node is None:
            _apply_pathless(resource, op, value, core)
        elif isinstance(node, ValuePath):
            _apply_selection(resource, op, node, value, core)
        elif isinstance(node, AttrPath):
            _apply_attribute(_holder(resource, node, core), op, node, value)
        else:
            raise InvalidSyntax(f"the PATCH path {operation['path']!r} is a filter")


def _apply_pathless(resource: dict[str, Any], op: str, value: Any, core: str) -> None:
    if op == "remove" or not isinstance(value, dict):
        raise InvalidSyntax(f"a PATCH {op} without a path needs an object value")
    for key, item in value.items():
        if key.lower().startswith("urn:") and isinstance(item, dict):
            extension = _child(resource, key)
            for name, sub in item.items():
                _set(extension, op, name, sub)
        else:
            _set(resource, op, key, item)


def _apply_attribute(
    holder: dict[str, Any], op: str, node: AttrPath, value: Any
) -> None:
    if node.sub_attr is None:
        if op == "remove":
            _remove(holder, node.attr, value)
        else:
            _set(holder, op, node.attr, value)
        return

    current = _lookup(holder, node.attr)
    targets = current if isinstance(current, list) else [_child(holder, node.attr)]
    for item in targets:
        if isinstance(item, dict):
            _set_or_remove(item, op, node.sub_attr, value)


def _apply_selection(
    resource: dict[str, Any], op: str, node: ValuePath, value: Any, core: str
) -> None:
    holder = _holder(resource, node.attr_path, core)
    name = _key(holder, node.attr_path.attr)
    items = holder.get(name) if name else None
    chosen = [
        item
        for item in items or []
        if isinstance(item, dict) and matches(node.val_filter, item)
    ]
    if not chosen:
        if op == "remove":
            return
        raise NoTarget(f"no value of {node.attr_path} matches [{node.val_filter}]")
    if node.sub_attr is not None:
        for item in chosen:
            _set_or_remove(item, op, node.sub_attr, value)
        return
    _replace_selected(holder, name or "", chosen, op, value)


def _replace_selected(
    holder: dict[str, Any], name: str, chosen: list[Any], op: str, value: Any
) -> None:
    kept = [item for item in holder[name] if not any(item is c for c in chosen)]
    if op == "remove":
        holder[name] = kept
        return
    for item in chosen:
        if isinstance(value, dict):
            item.update(value)


def _set_or_remove(item: dict[str, Any], op: str, name: str, value: Any) -> None:
    if op == "remove":
        _remove(item, name, None)
    else:
        item[_key(item, name) or name] = value


def _set(holder: dict[str, Any], op: str, name: str, value: Any) -> None:
    key = _key(holder, name) or name
    current = holder.get(key)
    if op == "add" and isinstance(current, list):
        additions = value if isinstance(value, list) else [value]
        holder[key] = current + [item for item in additions if item not in current]
    elif isinstance(current, dict) and isinstance(value, dict):
        current.update(value)
    else:
        holder[key] = value


def _remove(holder: dict[str, Any], name: str, value: Any) -> None:
    key = _key(holder, name)
    if key is None:
        return
    current = holder[key]
    if isinstance(current, list) and isinstance(value, list):
        holder[key] = [item for item in current if not _listed(item, value)]
        return
    del holder[key]


def _listed(item: Any, values: list[Any]) -> bool:
    if item in values:
        return True
    ident = item.get("value") if isinstance(item, dict) else None
    return any(isinstance(v, dict) and v.get("value") == ident for v in values)


def _holder(resource: dict[str, Any], node: AttrPath, core: str) -> dict[str, Any]:
    if node.uri and node.uri.lower() != core.lower():
        return _child(resource, node.uri)
    return resource


def _child(holder: dict[str, Any], name: str) -> dict[str, Any]:
    key = _key(holder, name)
    if key is None or not isinstance(holder[key], dict):
        key = key or name
        holder[key] = {}
    child: dict[str, Any] = holder[key]
    return child


def _lookup(holder: dict[str, Any], name: str) -> Any:
    key = _key(holder, name)
    return holder[key] if key is not None else None


def _key(holder: dict[str, Any], name: str) -> str | None:
    """Return the key of ``holder`` that matches ``name`` case-insensitively."""
    if name in holder:
        return name
    lowered = name.lower()
    return next((key for key in holder if key.lower() == lowered), None)
