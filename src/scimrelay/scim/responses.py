"""SCIM error bodies (RFC 7644 §3.12): the one place they are built."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import orjson
from starlette.responses import Response

from scimrelay.errors import ScimError

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_MEDIA_TYPE = "application/scim+json"
MAX_DETAIL_LENGTH = 300
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_HIDDEN = re.compile(r"<(script|style|head)[^>]*>.*?</\1>", re.IGNORECASE | re.DOTALL)
DETAIL_KEYS = ("detail", "message", "error_description", "error", "title", "errors")


def error_document(
    status: int, detail: str, scim_type: str | None = None
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "schemas": [ERROR_SCHEMA],
        "status": str(status),
        "detail": detail,
    }
    if scim_type:
        document["scimType"] = scim_type
    return document


def error_response(error: ScimError, headers: dict[str, str] | None = None) -> Response:
    """Answer a ``ScimError``, with ``Retry-After`` when it names a wait."""
    document = error_document(error.status, error.detail, error.scim_type)
    if error.retry_after is not None:
        headers = {**(headers or {}), "Retry-After": str(error.retry_after)}
    return Response(
        orjson.dumps(document),
        status_code=error.status,
        media_type=SCIM_MEDIA_TYPE,
        headers=headers,
    )


def normalise_error_body(status: int, content_type: str, body: bytes) -> bytes:
    """Return a downstream error body as a SCIM error with the same status.

    A SCIM error passes through, with ``status`` fixed to the HTTP code as a
    string. HTML, plain text and other JSON become a SCIM error whose detail
    keeps a short cleaned-up part of the downstream message.
    """
    document = _json_object(body)
    if document is not None and ERROR_SCHEMA in (document.get("schemas") or []):
        if document.get("status") == str(status) and not _lacks_scim_type(
            status, document
        ):
            return body
        document["status"] = str(status)
        if _lacks_scim_type(status, document):
            document["scimType"] = "uniqueness"
        return orjson.dumps(document)

    detail = _detail(document, content_type, body) or f"HTTP {status}"
    return orjson.dumps(
        error_document(
            status,
            f"the downstream SCIM server answered {status}: {detail}",
            "uniqueness" if status == 409 else None,
        )
    )


def _lacks_scim_type(status: int, document: dict[str, Any]) -> bool:
    """Tell whether a 409 lacks the ``uniqueness`` type (RFC 7644 §3.12)."""
    return status == 409 and not document.get("scimType")


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return document if isinstance(document, dict) else None


def _detail(document: dict[str, Any] | None, content_type: str, body: bytes) -> str:
    if document is not None:
        for key in DETAIL_KEYS:
            if document.get(key):
                return shorten(_flatten(document[key]))
        return shorten(orjson.dumps(document).decode())

    text = body.decode("utf-8", errors="replace")
    if "html" in content_type.lower() or text.lstrip().startswith("<"):
        title = _TITLE.search(text)
        text = title.group(1) if title else _TAG.sub(" ", _HIDDEN.sub(" ", text))
        text = html.unescape(text)
    return shorten(text)


def _flatten(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in DETAIL_KEYS:
            if value.get(key):
                return _flatten(value[key])
    if isinstance(value, list) and value:
        return "; ".join(_flatten(item) for item in value[:3])
    return orjson.dumps(value).decode()


def shorten(text: str) -> str:
    """Collapse whitespace, drop control characters and cut to a short line."""
    cleaned = _SPACE.sub(
        " ", "".join(c for c in text if c.isprintable() or c.isspace())
    )
    cleaned = cleaned.strip()
    if len(cleaned) > MAX_DETAIL_LENGTH:
        cleaned = cleaned[: MAX_DETAIL_LENGTH - 3].rstrip() + "..."
    return cleaned


def json_object(body: bytes) -> dict[str, Any] | None:
    """Return a body parsed as a JSON object, or None if it is not one."""
    return _json_object(body)


def scrub(body: bytes, secret_values: tuple[str, ...]) -> bytes:
    """Mask the integration's own secrets in a downstream body sent back.

    A downstream that echoes request headers (debug pages do) would otherwise
    hand the identity provider the downstream token.
    """
    for value in secret_values:
        secret = value.encode()
        if secret in body:
            body = body.replace(secret, b"[secure]")
    return body


def clean_header_value(value: str | None) -> str | None:
    """Return a downstream header value if it is printable ASCII, else None."""
    if value is None:
        return None
    value = value.strip()
    # For ASCII text, printable means " " to "~".
    if not value or not (value.isascii() and value.isprintable()):
        return None
    return value


def clean_headers(headers: Mapping[str, str], names: Iterable[str]) -> dict[str, str]:
    """Copy the named downstream headers whose values are well-formed."""
    copied = {}
    for name in names:
        value = clean_header_value(headers.get(name))
        if value is not None and (name != "retry-after" or _is_retry_after(value)):
            copied[name] = value
    return copied


def _is_retry_after(value: str) -> bool:
    """RFC 9110 §10.2.3: a number of seconds or an HTTP date."""
    if value.isdigit():
        return True
    try:
        parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return False
    return True
