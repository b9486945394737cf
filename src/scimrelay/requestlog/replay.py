"""Replay of a logged request: send it downstream again and link the entries.

Once an operator fixed what made a request fail (a token, a header, the
downstream itself), the stored request can be sent again, through the same
forwarding, limits and breaker as live traffic. The new log entry names the
original in ``replay_of``. The CLI calls :func:`replay`; the console and the
admin API call it too.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy import select

from scimrelay.context import AppContext
from scimrelay.errors import NotFoundError, ReplayRefused, ScimError
from scimrelay.relay.client import DownstreamClient
from scimrelay.relay.directory import Directory, RuntimeIntegration
from scimrelay.relay.schemas import SchemaCache
from scimrelay.requestid import new_request_id
from scimrelay.requestlog.masking import MASK
from scimrelay.requestlog.recorder import PendingEntry, RequestRecorder
from scimrelay.resilience.guard import Resilience, open_backend
from scimrelay.scim import responses
from scimrelay.scim.endpoint import BASE_PREFIX, Exchange, ScimEndpoint
from scimrelay.store.models import RequestLogEntry

PATH_SAFE = "/:@!$&'()*+,;=-._~"
TRUNCATED = "characters not logged]"


@dataclass(frozen=True)
class ReplayResult:
    """The new log entry of a replay and what the downstream answered."""

    original_id: int
    entry_id: int | None
    request_id: str
    status: int
    downstream_status: int | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


async def replay(
    context: AppContext, entry_id: int, *, force: bool = False
) -> ReplayResult:
    """Send a logged request again and log it as a replay of ``entry_id``."""
    original = await asyncio.to_thread(_load, context, entry_id, force)
    directory = Directory(context.service)
    await asyncio.to_thread(directory.refresh_if_changed)
    integration = directory.get(original.integration_id or "")
    if integration is None:
        raise NotFoundError(
            f"integration {original.integration_id} of log entry {entry_id} no "
            "longer exists: nothing to replay it to"
        )
    recorder = RequestRecorder(context.store, context.settings.data_dir / "spool")
    recorder.start()
    try:
        exchange, status = await _send(context, integration, original, recorder)
        recorder.record(_entry(original, integration, exchange, status))
    finally:
        recorder.stop()
    return await asyncio.to_thread(_result, context, original.id, exchange, status)


def _load(context: AppContext, entry_id: int, force: bool) -> RequestLogEntry:
    with context.store.session() as session:
        entry = session.get(RequestLogEntry, entry_id)
    if entry is None:
        raise NotFoundError(
            f"log entry {entry_id} not found: list entries with `scimrelay logs`"
        )
    _check_replayable(entry, force)
    return entry


def _check_replayable(entry: RequestLogEntry, force: bool) -> None:
    if entry.integration_id is None:
        raise ReplayRefused(
            f"log entry {entry.id} was refused before it reached an integration "
            "(authentication): the identity provider must send it again"
        )
    if entry.status < 400 and not force:
        raise ReplayRefused(
            f"log entry {entry.id} succeeded ({entry.status}); sending it again "
            "could repeat a change: pass --force to replay it anyway"
        )
    body = entry.request_body or ""
    if MASK in body or body.endswith(TRUNCATED):
        raise ReplayRefused(
            f"log entry {entry.id} held a password or a body too large to log, "
            "which were not stored: the identity provider must send it again"
        )


async def _send(
    context: AppContext,
    integration: RuntimeIntegration,
    original: RequestLogEntry,
    recorder: RequestRecorder,
) -> tuple[Exchange, int]:
    """Forward the stored call; return the exchange and the status answered."""
    settings = context.settings
    client = DownstreamClient(
        settings.downstream_timeout,
        allow_private=settings.allow_private_downstreams,
        max_response_bytes=settings.max_response_bytes,
    )
    resilience = Resilience(client, open_backend(settings), settings.downstream_timeout)
    directory = Directory(context.service)
    schemas = SchemaCache(client)
    endpoint = ScimEndpoint(settings, directory, client, schemas, recorder, resilience)
    exchange = Exchange(new_request_id(), integration, replay_of=original.id)
    body = original.request_body.encode() if original.request_body else None
    exchange.body = body
    await client.start()
    try:
        response = await endpoint.forward(integration, _call(original, body), exchange)
        status = response.status
    except ScimError as error:
        exchange.error, status = error.detail, error.status
    finally:
        await client.close()
        await resilience.close()
    return exchange, status


def _call(
    original: RequestLogEntry, body: bytes | None
) -> tuple[str, str, str, dict[str, str], bytes | None]:
    prefix = f"{BASE_PREFIX}{original.integration_id}"
    path = quote(original.path[len(prefix) :], safe=PATH_SAFE)
    headers = {"accept": responses.SCIM_MEDIA_TYPE}
    return original.method, path, original.query, headers, body


def _entry(
    original: RequestLogEntry,
    integration: RuntimeIntegration,
    exchange: Exchange,
    status: int,
) -> PendingEntry:
    downstream = exchange.downstream
    answer = downstream.body if downstream else None
    if downstream is not None and status >= 400:
        content_type = downstream.headers.get("content-type", "")
        answer = responses.normalise_error_body(status, content_type, answer or b"")
    return PendingEntry(
        time=time.time(),
        request_id=exchange.request_id,
        method=original.method,
        path=original.path,
        query=original.query,
        status=status,
        duration_ms=downstream.elapsed_ms if downstream else 0.0,
        client="replay",
        tenant_id=integration.tenant_id,
        integration_id=integration.id,
        downstream_status=downstream.status if downstream else None,
        downstream_ms=downstream.elapsed_ms if downstream else None,
        error=exchange.error,
        request_body=exchange.body,
        response_body=answer,
        secret_values=exchange.secret_values(),
        replay_of=original.id,
    )


def _result(
    context: AppContext, original_id: int, exchange: Exchange, status: int
) -> ReplayResult:
    with context.store.session() as session:
        entry_id = session.scalar(
            select(RequestLogEntry.id).where(
                RequestLogEntry.request_id == exchange.request_id
            )
        )
    downstream = exchange.downstream
    return ReplayResult(
        original_id=original_id,
        entry_id=entry_id,
        request_id=exchange.request_id,
        status=status,
        downstream_status=downstream.status if downstream else None,
        error=exchange.error,
    )
