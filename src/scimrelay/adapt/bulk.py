"""Bulk requests (RFC 7644 §3.7) run one by one for downstreams without Bulk."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import orjson

from scimrelay.adapt.exchange import Call, json_body
from scimrelay.errors import InvalidSyntax, InvalidValue, TooMany
from scimrelay.relay.client import DownstreamResponse
from scimrelay.scim.responses import error_document, normalise_error_body

BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
BULK_PREFIX = "bulkId:"
Relay = Callable[[Call], Awaitable[DownstreamResponse]]


def check_limits(call: Call, document: Any, operations: int, payload: int) -> None:
    """Refuse a Bulk request over the announced limits (RFC 7644 §3.7.4)."""
    if len(call.body or b"") > payload:
        raise TooMany(f"the Bulk request is larger than maxPayloadSize ({payload})")
    items = document.get("Operations") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise InvalidSyntax("a Bulk request needs an Operations list")
    if len(items) > operations:
        raise TooMany(f"the Bulk request has more than maxOperations ({operations})")


async def run_bulk(
    call: Call, document: dict[str, Any], relay: Relay
) -> dict[str, Any]:
    """Run each operation through the relay; answer with a BulkResponse."""
    fail_on = document.get("failOnErrors")
    limit = fail_on if isinstance(fail_on, int) and fail_on > 0 else None
    created: dict[str, str] = {}
    results: list[dict[str, Any]] = []
    errors = 0
    for operation in document["Operations"]:
        result = await _run_one(call, operation, created, relay)
        results.append(result)
        errors += int(result["status"]) >= 400
        if limit is not None and errors >= limit:
            break
    return {"schemas": [BULK_RESPONSE], "Operations": results}


async def _run_one(
    call: Call, operation: Any, created: dict[str, str], relay: Relay
) -> dict[str, Any]:
    if not isinstance(operation, dict):
        return _failed({}, InvalidSyntax("a Bulk operation must be an object"))
    try:
        sub_call = _sub_call(call, operation, created)
    except (InvalidSyntax, InvalidValue) as error:
        return _failed(operation, error)
    response = await relay(sub_call)
    return _result(operation, response, created)


def _sub_call(call: Call, operation: dict[str, Any], created: dict[str, str]) -> Call:
    method = str(operation.get("method", "")).upper()
    path = _resolve(operation.get("path"), created)
    if method not in ("POST", "PUT", "PATCH", "DELETE") or not isinstance(path, str):
        raise InvalidSyntax("a Bulk operation needs a method and a path")
    headers = dict(call.headers)
    if isinstance(operation.get("version"), str):
        headers["If-Match"] = operation["version"]
    data = _resolve(operation.get("data"), created)
    body = orjson.dumps(data) if data is not None else None
    path = "/" + path.strip("/")
    return replace(
        call, method=method, path=path, query="", headers=headers, body=body, applied=[]
    )


def _resolve(value: Any, created: dict[str, str]) -> Any:
    """Replace ``bulkId:`` references with the ids created earlier (§3.7.2)."""
    if isinstance(value, str):
        return _resolve_text(value, created)
    if isinstance(value, list):
        return [_resolve(item, created) for item in value]
    if isinstance(value, dict):
        return {key: _resolve(item, created) for key, item in value.items()}
    return value


def _resolve_text(text: str, created: dict[str, str]) -> str:
    if BULK_PREFIX not in text:
        return text
    parts = text.split("/")
    for index, part in enumerate(parts):
        if part.startswith(BULK_PREFIX):
            bulk_id = part[len(BULK_PREFIX) :]
            if bulk_id not in created:
                raise InvalidValue(f"bulkId {bulk_id!r} names no earlier operation")
            parts[index] = created[bulk_id]
    return "/".join(parts)


def _result(
    operation: dict[str, Any], response: DownstreamResponse, created: dict[str, str]
) -> dict[str, Any]:
    result = _head(operation, response.status)
    body = json_body(response)
    if response.status >= 400:
        content_type = response.headers.get("content-type", "")
        result["response"] = orjson.loads(
            normalise_error_body(response.status, content_type, response.body)
        )
        return result
    resource_id = body.get("id") if body else None
    if isinstance(operation.get("bulkId"), str) and isinstance(resource_id, str):
        created[operation["bulkId"]] = resource_id
    location = response.headers.get("Location") or _meta(body, "location")
    if location:
        result["location"] = location
    version = response.headers.get("ETag") or _meta(body, "version")
    if version:
        result["version"] = version
    return result


def _failed(
    operation: dict[str, Any], error: InvalidSyntax | InvalidValue
) -> dict[str, Any]:
    result = _head(operation, error.status)
    result["response"] = error_document(error.status, error.detail, error.scim_type)
    return result


def _head(operation: dict[str, Any], status: int) -> dict[str, Any]:
    result: dict[str, Any] = {"method": str(operation.get("method", "")).upper()}
    if isinstance(operation.get("bulkId"), str):
        result["bulkId"] = operation["bulkId"]
    result["status"] = str(status)
    return result


def _meta(body: dict[str, Any] | None, name: str) -> str | None:
    meta = body.get("meta") if body else None
    value = meta.get(name) if isinstance(meta, dict) else None
    return value if isinstance(value, str) else None
