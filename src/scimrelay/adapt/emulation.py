"""PATCH for downstreams without it, and PATCH split into several requests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
import structlog

from scimrelay.adapt.exchange import Call, Sender, json_body
from scimrelay.adapt.members import member_ids
from scimrelay.adapt.patch import apply_patch
from scimrelay.adapt.schemas import resource_schema
from scimrelay.errors import BadGateway, InvalidValue
from scimrelay.relay.client import DownstreamResponse

logger = structlog.get_logger(__name__)

MAX_MEMBER_CHECKS = 50


async def emulate_patch(
    call: Call, document: dict[str, Any], send: Sender
) -> DownstreamResponse:
    """Read the resource, apply the operations, write it back with PUT.

    The PUT carries ``If-Match`` with the version read (RFC 7644 §3.14), so a
    concurrent change makes it fail with 412; the relay then starts over once.
    A provider's own ``If-Match`` is kept and not retried.
    """
    call.note("patch-emulated")
    own_precondition = _header(call.headers, "if-match")
    for attempt in (1, 2):
        current = await send("GET", call.path, "", None)
        if current.status != 200:
            return current
        resource = json_body(current)
        if resource is None:
            raise BadGateway(
                "the downstream returned a non-JSON body to a GET of the resource"
            )
        apply_patch(resource, document, resource_schema(call.path) or "")
        resource.pop("meta", None)
        version = own_precondition or current.headers.get("ETag")
        written = await send("PUT", call.path, "", orjson.dumps(resource), version)
        if written.status != 412 or own_precondition or attempt == 2:
            return written
        logger.info("resource changed during PATCH emulation; retrying once")
    raise AssertionError("unreachable")


async def send_split(
    call: Call, bodies: Iterable[dict[str, Any]], total: int, send: Sender
) -> DownstreamResponse:
    """Send a large membership change as ``total`` PATCH requests (RFC 7644 §3.5.2).

    ``bodies`` may be produced while sending, so only the body being sent
    needs to be held.
    """
    call.note("members-split")
    logger.info("membership change split", requests=total)
    response: DownstreamResponse | None = None
    for number, body in enumerate(bodies, start=1):
        response = await send("PATCH", call.path, "", orjson.dumps(body))
        if response.status >= 400:
            await _name_unknown_member(body, send, number, total)
            return response
    assert response is not None
    return response


async def _name_unknown_member(
    body: dict[str, Any], send: Sender, number: int, total: int
) -> None:
    """Find a member id the downstream does not know and name it in the error."""
    for member in member_ids(body)[:MAX_MEMBER_CHECKS]:
        found = await send("GET", f"/Users/{member}", "", None)
        if found.status == 404:
            found = await send("GET", f"/Groups/{member}", "", None)
        if found.status == 404:
            raise InvalidValue(
                f"member {member!r} does not exist downstream: request {number} "
                f"of {total} failed, requests applied before it: {number - 1}"
            )


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((value for key, value in headers.items() if key.lower() == name), None)
