"""Filters the relay evaluates itself, as RFC 7644 §3.4.2.2 defines them.

scim2-models parses the filter; the evaluation works on the JSON resource as
the downstream returned it, so unknown attributes and extensions take part.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scim2_models import ScimFilter
from scim2_models.exceptions import InvalidFilterException
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)

from scimrelay.errors import InvalidFilter

CASE_EXACT = frozenset({"id", "externalid", "version"})
ORDERING = frozenset({"gt", "ge", "lt", "le"})
MISSING = object()


def parse_filter(expression: str) -> FilterNode:
    """Parse a filter; anything unparsable is a 400 ``invalidFilter``."""
    try:
        return ScimFilter(expression).ast
    except (InvalidFilterException, ValueError) as error:
        raise InvalidFilter(f"the filter {expression!r} is invalid: {error}") from None


def matches(node: FilterNode, resource: dict[str, Any], core: str = "") -> bool:
    """Tell whether a resource satisfies a parsed filter."""
    if isinstance(node, LogicalExpr):
        results = (matches(term, resource, core) for term in node.terms)
        return all(results) if node.op == LogicalOperator.and_ else any(results)
    if isinstance(node, Not):
        return not matches(node.expr, resource, core)
    if isinstance(node, Present):
        return any(
            _present(value) for value in values_at(resource, node.attr_path, core)
        )
    if isinstance(node, ValuePath):
        return _value_path(node, resource, core)
    if isinstance(node, Comparison):
        return _comparison(node, resource, core)
    raise InvalidFilter(f"the filter expression {node} is not supported")


def _value_path(node: ValuePath, resource: dict[str, Any], core: str) -> bool:
    for item in values_at(resource, node.attr_path, core):
        if isinstance(item, dict) and matches(node.val_filter, item):
            return True
    return False


def _comparison(node: Comparison, resource: dict[str, Any], core: str) -> bool:
    found = [
        value
        for value in values_at(resource, node.attr_path, core, compare=True)
        if value is not None
    ]
    if node.op == CompareOperator.ne:
        return not any(_compare("eq", value, node) for value in found)
    if node.value is None and node.op == CompareOperator.eq:
        return not found
    return any(_compare(node.op.value, value, node) for value in found)


def values_at(
    resource: dict[str, Any], path: AttrPath, core: str = "", compare: bool = False
) -> list[Any]:
    """Return every value an attribute path reaches; names are case-insensitive."""
    holder: Any = resource
    if path.uri and path.uri.lower() != core.lower():
        holder = _get(resource, path.uri)
    current = _flatten([_get(holder, path.attr)])
    if path.sub_attr is not None:
        current = _flatten([_get(item, path.sub_attr) for item in current])
    elif compare and current and all(isinstance(item, dict) for item in current):
        current = _flatten([_get(item, "value") for item in current])
    return [item for item in current if item is not MISSING]


def _get(holder: Any, name: str) -> Any:
    if not isinstance(holder, dict):
        return MISSING
    if name in holder:
        return holder[name]
    lowered = name.lower()
    for key, value in holder.items():
        if key.lower() == lowered:
            return value
    return MISSING


def _flatten(items: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for item in items:
        flat.extend(item if isinstance(item, list) else [item])
    return flat


def _present(value: Any) -> bool:
    return value not in (None, "", [], {})


def _compare(op: str, actual: Any, node: Comparison) -> bool:
    expected = node.value
    if isinstance(actual, bool) or isinstance(expected, bool):
        if op in ORDERING:
            raise InvalidFilter(f"{op} cannot compare the boolean {node.attr_path}")
        return op == "eq" and actual == expected
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        return _order(op, actual, expected)
    if not isinstance(actual, str) or not isinstance(expected, str):
        return False
    return _compare_text(op, actual, expected, node.attr_path)


def _compare_text(op: str, actual: str, expected: str, path: AttrPath) -> bool:
    moments = _moments(actual, expected) if op in ORDERING or op == "eq" else None
    if moments is not None:
        return _order(op, *moments)
    name = (path.sub_attr or path.attr).lower()
    if name not in CASE_EXACT:
        actual, expected = actual.lower(), expected.lower()
    if op == "co":
        return expected in actual
    if op == "sw":
        return actual.startswith(expected)
    if op == "ew":
        return actual.endswith(expected)
    return _order(op, actual, expected)


def _moments(actual: str, expected: str) -> tuple[datetime, datetime] | None:
    """Read both as RFC 3339 date-times (RFC 7643 §2.3.5), or return None."""
    if len(expected) < 10 or expected[4:5] != "-":
        return None
    try:
        left = datetime.fromisoformat(actual)
        right = datetime.fromisoformat(expected)
    except ValueError:
        return None
    if (left.tzinfo is None) != (right.tzinfo is None):
        return None
    return left, right


def _order(op: str, actual: Any, expected: Any) -> bool:
    if op == "eq":
        return bool(actual == expected)
    if op == "gt":
        return bool(actual > expected)
    if op == "ge":
        return bool(actual >= expected)
    if op == "lt":
        return bool(actual < expected)
    if op == "le":
        return bool(actual <= expected)
    return False
