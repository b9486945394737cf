"""Splitting large group membership changes into several PATCH requests."""

from __future__ import annotations

import copy
from typing import Any

from scimrelay.adapt.rules.base import op_name, operations

MEMBER_OPS = frozenset({"add", "remove", "replace"})


def member_count(operation: dict[str, Any]) -> int:
    """Count the members one operation names: a value list or a member filter."""
    path = str(operation.get("path", "")).lower()
    if path.startswith("members["):
        return 1
    value = operation.get("value")
    if path == "members" and isinstance(value, list):
        return len(value)
    return 0


def split_members(document: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """Return PatchOp bodies that each name at most ``limit`` members.

    Operations keep their order; a ``members`` value list longer than the limit
    is cut into several operations. Nothing is dropped. A ``replace`` of the
    whole member list is never split, since splitting it would change it.
    """
    pieces: list[dict[str, Any]] = []
    for operation in operations(document):
        pieces.extend(_chunks(operation, limit))

    bodies: list[list[dict[str, Any]]] = [[]]
    used = 0
    for piece in pieces:
        size = member_count(piece)
        if bodies[-1] and size and used + size > limit:
            bodies.append([])
            used = 0
        bodies[-1].append(piece)
        used += size
    return [_body(document, chunk) for chunk in bodies]


def _chunks(operation: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    values = operation.get("value")
    splittable = op_name(operation) in ("add", "remove") and isinstance(values, list)
    if not splittable or member_count(operation) <= limit:
        return [operation]
    assert isinstance(values, list)
    return [
        {**operation, "value": values[start : start + limit]}
        for start in range(0, len(values), limit)
    ]


def _body(document: dict[str, Any], chunk: list[dict[str, Any]]) -> dict[str, Any]:
    body = {key: copy.copy(value) for key, value in document.items()}
    body["Operations"] = chunk
    return body


def needs_split(document: dict[str, Any], limit: int) -> bool:
    return sum(member_count(item) for item in operations(document)) > limit


def member_ids(document: dict[str, Any]) -> list[str]:
    """List the member ids that a PatchOp body adds."""
    found: list[str] = []
    for operation in operations(document):
        if op_name(operation) not in MEMBER_OPS:
            continue
        if str(operation.get("path", "")).lower() != "members":
            continue
        for item in operation.get("value") or []:
            if isinstance(item, dict) and isinstance(item.get("value"), str):
                found.append(item["value"])
    return found
