"""Splitting large group membership changes into several PATCH requests."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from scimrelay.adapt.rules.base import op_name, operations

MEMBER_OPS = frozenset({"add", "remove", "replace"})
T = TypeVar("T")


def member_count(operation: dict[str, Any]) -> int:
    """Count the members one operation names: a value list or a member filter."""
    value = operation.get("value")
    return members_named(operation, len(value) if isinstance(value, list) else -1)


def members_named(operation: dict[str, Any], length: int) -> int:
    """Count the members of an operation whose value list has ``length`` items.

    ``length`` is -1 when the value is not a list.
    """
    path = str(operation.get("path", "")).lower()
    if path.startswith("members["):
        return 1
    if path == "members" and length >= 0:
        return length
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
    return [
        patch_body(document, chunk) for chunk in packed(pieces, member_count, limit)
    ]


def packed(
    pieces: Iterable[T], size_of: Callable[[T], int], limit: int
) -> Iterator[list[T]]:
    """Group pieces in order, at most ``limit`` members a group where they fit.

    A piece naming no members joins the current group; a piece larger than
    the limit gets a group of its own. There is always at least one group.
    """
    group: list[T] = []
    used = 0
    for piece in pieces:
        size = size_of(piece)
        if group and size and used + size > limit:
            yield group
            group = []
            used = 0
        group.append(piece)
        used += size
    yield group


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


def patch_body(document: dict[str, Any], chunk: list[dict[str, Any]]) -> dict[str, Any]:
    """Return a copy of the PatchOp body's envelope with ``chunk`` as operations."""
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
