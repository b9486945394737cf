"""Retries of downstream calls: which calls, on what, and how long to wait.

A call is repeated only when repeating it cannot do harm (RFC 9110 §9.2.2):
GET, HEAD, PUT and DELETE are idempotent and are retried on connection
errors, timeouts, 502, 503 and 504; any method is retried when the
connection failed before a byte was sent. POST and PATCH are never sent
twice once the downstream may have acted on them. A 429 is never retried: the
identity provider gets it, with the downstream's ``Retry-After``.

Waits grow exponentially with full jitter, honour a downstream's
``Retry-After`` on 503, and every attempt fits in the integration's overall
deadline.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

from scimrelay.errors import (
    BadGateway,
    DownstreamRefused,
    DownstreamUnreachable,
    GatewayTimeout,
    ScimError,
)
from scimrelay.relay.client import DownstreamResponse
from scimrelay.resilience.policy import Policy

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({502, 503, 504})
BASE_DELAY = 0.1
MAX_DELAY = 2.0
# An attempt with less time than this left would only end in a timeout.
MIN_ATTEMPT_SECONDS = 0.25

Send = Callable[[aiohttp.ClientTimeout], Awaitable[DownstreamResponse]]


@dataclass(slots=True)
class Attempts:
    """How many times a call was sent; read for the log and the metrics."""

    count: int = 0


async def send_with_retries(
    send: Send,
    method: str,
    policy: Policy,
    total: float,
    attempts: Attempts,
) -> DownstreamResponse:
    """Send a call, repeating it while that is safe and time is left."""
    deadline = time.monotonic() + total
    while True:
        attempts.count += 1
        remaining = deadline - time.monotonic()
        timeout = aiohttp.ClientTimeout(
            total=remaining,
            sock_connect=min(policy.connect_timeout, remaining),
            sock_read=min(policy.read_timeout, remaining),
        )
        try:
            response = await send(timeout)
        except ScimError as error:
            if not _may_retry_error(error, method):
                raise
            delay = backoff(attempts.count)
            if not _has_time(attempts.count, policy, deadline, delay):
                raise
        else:
            if (
                response.status not in RETRY_STATUSES
                or method not in IDEMPOTENT_METHODS
            ):
                return response
            delay = backoff(attempts.count, response.headers.get("retry-after"))
            if not _has_time(attempts.count, policy, deadline, delay):
                return response
        await asyncio.sleep(delay)


def _may_retry_error(error: ScimError, method: str) -> bool:
    if isinstance(error, DownstreamRefused):
        return False
    if isinstance(error, DownstreamUnreachable):
        return True
    return isinstance(error, BadGateway | GatewayTimeout) and (
        method in IDEMPOTENT_METHODS
    )


def _has_time(count: int, policy: Policy, deadline: float, delay: float) -> bool:
    if count >= policy.max_attempts:
        return False
    return time.monotonic() + delay + MIN_ATTEMPT_SECONDS < deadline


def backoff(attempt: int, retry_after: str | None = None) -> float:
    """Return the wait before attempt ``attempt + 1``: full jitter, or Retry-After."""
    if retry_after is not None and retry_after.strip().isdigit():
        return float(retry_after.strip())
    ceiling = min(MAX_DELAY, BASE_DELAY * 2 ** (attempt - 1))
    return random.uniform(0, ceiling)
