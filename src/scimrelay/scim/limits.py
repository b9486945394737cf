"""Limits on what an identity provider may send: headers and JSON nesting.

Each check is linear in the input and cheaper than reading it.
"""

from __future__ import annotations

from typing import Any

from scimrelay.errors import HeadersTooLarge, InvalidSyntax

CONTAINERS = (dict, list)


def check_headers(headers: list[tuple[bytes, bytes]], count: int, size: int) -> None:
    """Refuse more than ``count`` header fields or more than ``size`` bytes of them.

    RFC 6585 §5: the answer is 431 Request Header Fields Too Large.
    """
    if len(headers) > count:
        raise HeadersTooLarge(
            f"the request has {len(headers)} header fields; the relay accepts "
            f"at most {count}"
        )
    total = sum(len(name) + len(value) for name, value in headers)
    if total > size:
        raise HeadersTooLarge(
            f"the request's header fields take {total} bytes; the relay accepts "
            f"at most {size}"
        )


def check_depth(body: bytes, document: Any, limit: int) -> None:
    """Refuse a parsed JSON body nested deeper than ``limit`` arrays and objects.

    Deep nesting costs nothing to send and much to walk: recursive code
    further on would exhaust the stack. The walk goes level by level over
    containers only, so it costs less than parsing did.
    """
    if type(document) not in CONTAINERS:
        return
    if body.count(b"[") + body.count(b"{") <= limit:
        return
    level = [document]
    for _ in range(limit):
        deeper: list[Any] = []
        for node in level:
            children = node.values() if type(node) is dict else node
            deeper.extend([child for child in children if type(child) in CONTAINERS])
        if not deeper:
            return
        level = deeper
    raise InvalidSyntax(f"the JSON body is nested deeper than {limit} levels")
