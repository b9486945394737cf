"""The wrapper around each downstream call: budgets, breaker, retries.

This is also the small state API that the CLI, console and metrics read:
:meth:`Resilience.describe` for one integration, :attr:`Resilience.counters`
for totals since start.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

from scimrelay.errors import ScimError, ServiceUnavailable, TooManyRequests
from scimrelay.ops import metrics
from scimrelay.relay.client import DownstreamClient, DownstreamResponse
from scimrelay.resilience import backends, breaker
from scimrelay.resilience.backends import Admission, MemoryBackend, StateBackend
from scimrelay.resilience.policy import Policy
from scimrelay.resilience.retry import Attempts, send_with_retries
from scimrelay.settings import Settings

REFUSALS = {
    backends.PER_SECOND: "the integration's per-second request budget is spent",
    backends.PER_DAY: "the integration's daily request budget is spent",
}


def open_backend(settings: Settings) -> StateBackend:
    """Return the Redis backend when ``SCIMRELAY_REDIS_URL`` is set, else memory."""
    if settings.redis_url is None:
        return MemoryBackend()
    from scimrelay.resilience.redis_backend import RedisBackend

    return RedisBackend(settings.redis_url.reveal())


class Resilience:
    """Send downstream calls within an integration's limits."""

    def __init__(
        self, client: DownstreamClient, backend: StateBackend, default_total: float
    ) -> None:
        self.client = client
        self.backend = backend
        self.default_total = default_total
        self.counters: Counter[str] = Counter()

    async def send(
        self,
        integration_id: str,
        policy: Policy,
        request: tuple[str, str, Mapping[str, str], bytes | None],
        attempts: Attempts,
    ) -> DownstreamResponse:
        """Admit, send with retries, and report the outcome to the breaker."""
        method, url, headers, body = request
        lease = backends.probe_lease(policy, self.default_total)
        admission = await self.backend.admit(integration_id, policy, lease)
        if not admission.allowed:
            self.counters[f"refused_{admission.reason}"] += 1
            if admission.reason in REFUSALS:
                metrics.count_rate_limited(integration_id, str(admission.reason))
            raise _refusal(admission)
        if admission.probe:
            metrics.count_breaker_change(integration_id, breaker.HALF_OPEN)

        total = policy.total_timeout or self.default_total
        try:
            response = await send_with_retries(
                lambda timeout: self.client.send(method, url, headers, body, timeout),
                method,
                policy,
                total,
                attempts,
            )
        except ScimError:
            await self._record(integration_id, policy, admission, False, attempts)
            raise
        ok = response.status not in breaker.FAILURE_STATUSES
        await self._record(integration_id, policy, admission, ok, attempts)
        return response

    async def _record(
        self,
        integration_id: str,
        policy: Policy,
        admission: Admission,
        ok: bool,
        attempts: Attempts,
    ) -> None:
        self.counters["retries"] += attempts.count - 1
        metrics.count_retry(integration_id, attempts.count - 1)
        changed = await self.backend.record(integration_id, policy, admission, ok)
        if changed is not None:
            metrics.count_breaker_change(integration_id, changed)

    async def describe(self, integration_id: str, policy: Policy) -> dict[str, Any]:
        """Return one integration's breaker and budget state."""
        return await self.backend.describe(integration_id, policy)

    def forget(self, integration_id: str) -> None:
        """Drop this process's state and metric series of a deleted integration."""
        self.backend.forget(integration_id)
        metrics.forget_integration(integration_id)

    async def close(self) -> None:
        await self.backend.close()


def _refusal(admission: Admission) -> ScimError:
    retry_after = max(1, math.ceil(admission.retry_after))
    if admission.reason == backends.CIRCUIT_OPEN:
        return ServiceUnavailable(
            "the downstream SCIM server failed repeatedly; the relay is not "
            "calling it for a while (circuit open)",
            retry_after=retry_after,
        )
    return TooManyRequests(
        str(REFUSALS.get(admission.reason or "", "the request budget is spent")),
        retry_after=retry_after,
    )
