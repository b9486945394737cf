"""Splitting a large membership PATCH while reading its body.

:func:`~scimrelay.adapt.members.split_members` works on the parsed body, and
a parsed ``{"value": "<UUID>"}`` member takes about 280 bytes of Python objects
(tracemalloc, CPython 3.11), six times its JSON. Here the body is read twice
with ijson instead: once for everything but
the operations' value lists, whose items are only counted, then once for those
items, which are cut into requests as they are read. Only one request's members
exist as objects at a time, and the requests are the ones ``split_members``
makes from the same body.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

import ijson

from scimrelay.adapt.members import member_count, members_named, packed, patch_body
from scimrelay.adapt.rules.base import op_name

OPERATIONS = "Operations"
# ijson's prefix of the items of each operation's value list. A key containing
# a dot, or a value object with an "item" key, could give another part of the
# body the same prefix, so bodies with either are not streamed.
VALUE_ITEMS = "Operations.item.value.item"
STARTS = frozenset({"start_map", "start_array"})
ENDS = frozenset({"end_map", "end_array"})
SPLITTABLE_OPS = frozenset({"add", "remove"})


@dataclass
class _Operation:
    """An operation with its value list left out, and that list's length."""

    # The operation as received, with None in place of a value list.
    fields: dict[str, Any]
    # Items of the value list, or -1 when the value is not a list.
    length: int = -1

    def sizes(self, limit: int) -> list[int]:
        """Return the members named by each piece that this operation becomes."""
        if self._cut(limit):
            return [min(limit, self.length - start) for start in self._starts(limit)]
        return [members_named(self.fields, self.length)]

    def pieces(self, items: Iterator[Any], limit: int) -> Iterator[dict[str, Any]]:
        """Yield this operation's pieces, taking its value items from ``items``."""
        if self.length < 0:
            yield self.fields
            return
        if not self._cut(limit):
            yield {**self.fields, "value": list(islice(items, self.length))}
            return
        for start in self._starts(limit):
            count = min(limit, self.length - start)
            yield {**self.fields, "value": list(islice(items, count))}

    def _cut(self, limit: int) -> bool:
        """Return whether ``split_members`` cuts this operation's value list."""
        splittable = op_name(self.fields) in SPLITTABLE_OPS and self.length >= 0
        return splittable and members_named(self.fields, self.length) > limit

    def _starts(self, limit: int) -> range:
        return range(0, self.length, limit)


@dataclass
class StreamedSplit:
    """The PATCH requests of a membership change, made while the body is read."""

    body: bytes
    envelope: dict[str, Any]
    operations: list[_Operation]
    limit: int

    @property
    def total(self) -> int:
        """Return the number of requests :meth:`bodies` yields."""
        sizes = [size for op in self.operations for size in op.sizes(self.limit)]
        return sum(1 for _group in packed(sizes, lambda size: size, self.limit))

    def bodies(self) -> Iterator[dict[str, Any]]:
        """Yield the PatchOp bodies one at a time, in the order to send them."""
        items = ijson.items(self.body, VALUE_ITEMS, use_float=True)
        pieces = (
            piece
            for operation in self.operations
            for piece in operation.pieces(items, self.limit)
        )
        for group in packed(pieces, member_count, self.limit):
            yield patch_body(self.envelope, group)


def stream_split(body: bytes, limit: int) -> StreamedSplit | None:
    """Plan the split of a PatchOp body naming more than ``limit`` members.

    Returns None when the body needs no split. Also returns None for a shape
    this reader does not handle, so the caller parses the body whole: invalid
    JSON, a body that is not an object, duplicate keys, or keys with dots.
    """
    try:
        outline = _Outline()
        for event, value in ijson.basic_parse(body, use_float=True):
            if not outline.take(event, value):
                return None
    except ijson.JSONError:
        return None

    if outline.envelope is None or not outline.complete():
        return None
    found = [op for op in outline.operations if op is not None]
    split = StreamedSplit(body, outline.envelope, found, limit)
    members = sum(size for op in found for size in op.sizes(limit))
    if not found or members <= limit:
        return None
    return split


class _Outline:
    """A reader of ijson events that keeps all but the operations' value lists.

    The body's depth decides what an event belongs to: 1 is the top-level
    object, 2 the ``Operations`` list, 3 an operation, 4 its value list.
    """

    def __init__(self) -> None:
        self.envelope: dict[str, Any] | None = None
        self.operations: list[_Operation | None] = []
        self.depth = 0
        self._key: str | None = None
        self._builder: ijson.ObjectBuilder | None = None
        self._built_at = 0
        self._in_operations = False
        self._operations_seen = False

    def complete(self) -> bool:
        return self.depth == 0 and self._operations_seen

    def take(self, event: str, value: Any) -> bool:
        """Take one event; return False when the body cannot be streamed."""
        if self._builder is not None:
            return self._build(event, value)
        if event == "map_key":
            return self._take_key(value)
        if event in ENDS:
            self.depth -= 1
            if self.depth == 1:
                self._in_operations = False
            return True
        return self._take_value(event, value)

    def _take_key(self, key: str) -> bool:
        if self.depth == 1:
            existing = self.envelope or {}
        elif self.depth == 3:
            existing = self._operation().fields
        else:
            return True
        self._key = key
        return "." not in key and key not in existing

    def _take_value(self, event: str, value: Any) -> bool:
        depth = self.depth
        if event in STARTS:
            self.depth += 1
        if depth == 0:
            self.envelope = {}
            return event == "start_map"
        if depth == 1 and self._key == OPERATIONS:
            assert self.envelope is not None
            self.envelope[OPERATIONS] = None
            self._operations_seen = self._in_operations = event == "start_array"
            return self._in_operations
        if depth == 2 and self._in_operations:
            self.operations.append(_Operation({}) if event == "start_map" else None)
            return event == "start_map" or self._start_building(event, value, depth)
        if depth == 3 and self._key == "value" and event == "start_array":
            operation = self._operation()
            operation.fields["value"] = None
            operation.length = 0
            return True
        if depth == 4 and self._in_operations:
            self._operation().length += 1
            return True
        if depth >= 4:
            return True
        return self._start_building(event, value, depth)

    def _start_building(self, event: str, value: Any, depth: int) -> bool:
        if event in STARTS:
            self.depth -= 1
        self._builder = ijson.ObjectBuilder()
        self._built_at = depth
        return self._build(event, value)

    def _build(self, event: str, value: Any) -> bool:
        assert self._builder is not None
        self._builder.event(event, value)
        if event in STARTS:
            self.depth += 1
        elif event in ENDS:
            self.depth -= 1
        if self.depth != self._built_at:
            return True

        built = self._builder.value
        self._builder = None
        return self._store(built)

    def _store(self, built: Any) -> bool:
        if self._built_at == 2:
            return True
        if self._built_at == 1:
            assert self.envelope is not None and self._key is not None
            self.envelope[self._key] = built
            return True
        assert self._key is not None
        self._operation().fields[self._key] = built
        return not (
            self._key == "value" and isinstance(built, dict) and "item" in built
        )

    def _operation(self) -> _Operation:
        operation = self.operations[-1]
        assert operation is not None
        return operation
