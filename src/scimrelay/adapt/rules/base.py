"""The shape of a rewrite rule and what a rule gets to work on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from scim2_models import Path
from scim2_models.exceptions import InvalidPathException
from scim2_models.path import AttrPath, PathNode, ValuePath

from scimrelay.adapt.schemas import SchemaInfo
from scimrelay.errors import InvalidSyntax

PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass(frozen=True)
class Target:
    """The request a rule rewrites: method, resource schema, downstream schemas."""

    method: str
    resource_urn: str | None
    schemas: SchemaInfo


RuleFunction = Callable[[dict[str, Any], Target], bool]


def operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the PATCH operations of a PatchOp body (RFC 7644 §3.5.2)."""
    found = document.get("Operations")
    if not isinstance(found, list):
        return []
    return [item for item in found if isinstance(item, dict)]


def op_name(operation: dict[str, Any]) -> str:
    return str(operation.get("op", "")).lower()


def parse_path(raw: object) -> PathNode | None:
    """Parse a PATCH path with scim2-models; an unparsable one is a 400."""
    if not isinstance(raw, str) or not raw:
        return None
    try:
        return Path(raw).ast
    except InvalidPathException as error:
        raise InvalidSyntax(f"the PATCH path {raw!r} is invalid: {error}") from None


def attr_of(node: PathNode | None) -> AttrPath | None:
    """Return the attribute a path names, or None for a filtered selection."""
    return node if isinstance(node, AttrPath) else None


def value_path(node: PathNode | None) -> ValuePath | None:
    return node if isinstance(node, ValuePath) else None


def pathless_values(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield the value objects of path-less ``add`` and ``replace`` operations."""
    for operation in operations(document):
        if operation.get("path") or op_name(operation) not in ("add", "replace"):
            continue
        if isinstance(operation.get("value"), dict):
            yield operation["value"]


def is_patch(document: dict[str, Any], target: Target) -> bool:
    return target.method == "PATCH" and bool(operations(document))
