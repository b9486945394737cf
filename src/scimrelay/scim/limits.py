"""Limits on what an identity provider may send: headers and JSON nesting.

Each check is linear in the input and cheaper than reading it.
"""

from __future__ import annotations

from typing import Any

import ijson

from scimrelay.errors import HeadersTooLarge, InvalidSyntax

CONTAINERS = (dict, list)
# Bodies above this size are checked by reading them with ijson rather than
# parsing them into Python objects, which take up to six times the JSON's size.
STREAMED_CHECK_BYTES = 256 * 1024
OPENING = frozenset({"start_map", "start_array"})
CLOSING = frozenset({"end_map", "end_array"})


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


def check_json_streamed(body: bytes, limit: int) -> None:
    """Check that a body is valid JSON nested at most ``limit`` deep, keeping nothing.

    yajl, which ijson uses, also rejects integers beyond 64 bits, which the
    relay's own parser accepts.
    """
    depth = 0
    try:
        for event, _value in ijson.basic_parse(body, use_float=True):
            if event in OPENING:
                depth += 1
                if depth > limit:
                    raise InvalidSyntax(
                        f"the JSON body is nested deeper than {limit} levels"
                    )
            elif event in CLOSING:
                depth -= 1
    except ijson.JSONError as error:
        raise InvalidSyntax(
            f"the request body is not valid JSON: {_first_line(error)}"
        ) from None


def _first_line(error: Exception) -> str:
    """Return the first line of an ijson error, which may carry bytes and a caret."""
    message = error.args[0] if error.args else error
    if isinstance(message, bytes):
        message = message.decode("utf-8", errors="replace")
    return str(message).strip().splitlines()[0]
