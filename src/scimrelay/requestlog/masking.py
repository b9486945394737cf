"""Masking of secrets in logged request and response bodies."""

from __future__ import annotations

import contextlib
import re
from typing import Any

import orjson

MASK = "[secure]"
# PostgreSQL's text type cannot hold NUL, so it is stored as U+FFFD on every
# database, like a byte that is not UTF-8.
NUL = "\x00"
REPLACEMENT = "\ufffd"
MAX_LOGGED_BODY = 64 * 1024
SECRET_ATTRIBUTES = frozenset({"password"})
# Bodies that never mention a secret attribute are not parsed at all.
_MENTIONS_SECRET_ATTRIBUTE = re.compile(rb"(?i)password")
# Below this size a lowered copy and a plain search beat the case-insensitive
# regex (about 1 us against 12 us for a 1 kB body); above it, the copy costs
# memory.
LOWER_COPY_LIMIT = 64 * 1024
MIN_SECRET_LENGTH = 4


def mask_body(body: bytes | None, secret_values: tuple[str, ...]) -> str | None:
    """Return the body as text with passwords and known secret values masked.

    JSON bodies lose every ``password`` attribute's value, at any depth and in
    PATCH operations whose path names it. Any occurrence of the integration's
    token or custom header values is replaced too. Bytes that are not UTF-8
    and NUL become U+FFFD. Text over ``MAX_LOGGED_BODY`` characters is cut and
    marked.
    """
    if not body:
        return None

    text = storable(body.decode("utf-8", errors="replace"))
    if mentions_secret_attribute(body):
        with contextlib.suppress(orjson.JSONDecodeError):
            text = orjson.dumps(_mask_document(orjson.loads(body))).decode()
    for value in secret_values:
        text = text.replace(value, MASK)
    if len(text) > MAX_LOGGED_BODY:
        omitted = len(text) - MAX_LOGGED_BODY
        text = f"{text[:MAX_LOGGED_BODY]}... [{omitted} characters not logged]"
    return text


def storable(text: str) -> str:
    """Return ``text`` with each NUL replaced by U+FFFD, which PostgreSQL can store."""
    return text.replace(NUL, REPLACEMENT)


def mentions_secret_attribute(body: bytes) -> bool:
    """Return whether the body contains "password" in any letter case."""
    if len(body) <= LOWER_COPY_LIMIT:
        return b"password" in body.lower()
    return _MENTIONS_SECRET_ATTRIBUTE.search(body) is not None


def _mask_document(node: Any) -> Any:
    if isinstance(node, list):
        return [_mask_document(item) for item in node]
    if not isinstance(node, dict):
        return node

    masked = {}
    for key, value in node.items():
        if isinstance(key, str) and key.lower() in SECRET_ATTRIBUTES:
            masked[key] = MASK
        else:
            masked[key] = _mask_document(value)
    if _is_password_operation(node) and "value" in masked:
        masked["value"] = MASK
    return masked


def _is_password_operation(node: dict[str, Any]) -> bool:
    path = node.get("path")
    if not isinstance(path, str) or "op" not in node:
        return False

    attribute = path.rsplit(":", 1)[-1].split(".")[-1].split("[")[0]
    return attribute.lower() in SECRET_ATTRIBUTES


def password_values(document: Any) -> tuple[str, ...]:
    """Return the password values in a request, to mask wherever they reappear.

    A downstream may echo a password inside a string (a debug body, an error
    message), where masking by attribute name cannot see it.
    """
    found: list[str] = []
    pending = [document]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, dict):
            _collect(node, found, pending)
    return tuple(value for value in found if len(value) >= MIN_SECRET_LENGTH)


def _collect(node: dict[str, Any], found: list[str], pending: list[Any]) -> None:
    for key, value in node.items():
        if isinstance(key, str) and key.lower() in SECRET_ATTRIBUTES:
            if isinstance(value, str):
                found.append(value)
        else:
            pending.append(value)
    if _is_password_operation(node) and isinstance(node.get("value"), str):
        found.append(node["value"])
