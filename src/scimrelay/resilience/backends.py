"""Where rate-limit and breaker state live: the interface and the in-process one.

Every operation is O(1) on one integration's state. The in-process backend
never leaves the event loop; the Redis backend (``redis_backend``) makes one
round trip per admission and one more only when a breaker must change.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from scimrelay.resilience import breaker as breakers
from scimrelay.resilience import ratelimit
from scimrelay.resilience.policy import Policy

PER_SECOND = "per_second"
PER_DAY = "per_day"
CIRCUIT_OPEN = "circuit_open"
MIN_PROBE_LEASE = 5.0


@dataclass(frozen=True, slots=True)
class Admission:
    """Whether one call may go downstream, and if not, why and for how long."""

    allowed: bool
    reason: str | None = None
    retry_after: float = 0.0
    probe: bool = False
    failures: int = 0


ADMITTED = Admission(True)


def probe_lease(policy: Policy, default_total: float) -> float:
    """How long a probe may run before another call may probe instead."""
    return max(MIN_PROBE_LEASE, (policy.total_timeout or default_total) + 1.0)


class StateBackend(ABC):
    """Rate-limit and breaker state, keyed by integration id."""

    name: str

    @abstractmethod
    async def admit(self, key: str, policy: Policy, lease: float) -> Admission:
        """Take one request from the budgets and pass the breaker, or refuse."""

    @abstractmethod
    async def record(
        self, key: str, policy: Policy, admission: Admission, ok: bool
    ) -> breakers.State | None:
        """Report an admitted call's outcome and return the new state if it changed."""

    @abstractmethod
    async def describe(self, key: str, policy: Policy) -> dict[str, Any]:
        """Return the state shown to operators: breaker, failures, budget used."""

    async def close(self) -> None:  # noqa: B027 - most backends hold nothing
        """Release connections."""

    def forget(self, key: str) -> None:  # noqa: B027 - shared state expires alone
        """Drop what this process holds for a deleted integration."""


@dataclass(slots=True)
class _Slot:
    budget: ratelimit.Budget = field(default_factory=ratelimit.Budget)
    breaker: breakers.Breaker = field(default_factory=breakers.Breaker)


class MemoryBackend(StateBackend):
    """State in this process's memory: limits hold per relay process."""

    name = "memory"

    def __init__(self) -> None:
        self._slots: dict[str, _Slot] = {}

    def integration_ids(self) -> list[str]:
        return list(self._slots)

    def forget(self, key: str) -> None:
        self._slots.pop(key, None)

    def _slot(self, key: str) -> _Slot:
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = _Slot()
        return slot

    async def admit(self, key: str, policy: Policy, lease: float) -> Admission:
        return self.admit_now(key, policy, lease, time.monotonic(), time.time())

    def admit_now(
        self, key: str, policy: Policy, lease: float, now: float, wall: float
    ) -> Admission:
        """Decide at the given monotonic and wall-clock times."""
        slot = self._slot(key)
        budget, breaker = slot.budget, slot.breaker
        refused = _budget_refusal(budget, policy, now, wall)
        if refused is not None:
            return refused
        blocked = breakers.blocked_for(breaker, now)
        if blocked:
            return Admission(False, CIRCUIT_OPEN, blocked, failures=breaker.failures)
        if policy.per_second:
            budget.tat = ratelimit.per_second_wait(budget.tat, now, policy.per_second)[
                1
            ]
        budget.used_today = ratelimit.used_today(budget, wall) + 1
        budget.day = ratelimit.day_of(wall)
        probe = breakers.start_probe(breaker, now, lease)
        return Admission(True, probe=probe, failures=breaker.failures)

    async def record(
        self, key: str, policy: Policy, admission: Admission, ok: bool
    ) -> breakers.State | None:
        return breakers.record(
            self._slot(key).breaker,
            time.monotonic(),
            ok=ok,
            probe=admission.probe,
            threshold=policy.breaker_failures,
            cooldown=policy.breaker_cooldown,
        )

    async def describe(self, key: str, policy: Policy) -> dict[str, Any]:
        slot = self._slot(key)
        now, wall = time.monotonic(), time.time()
        return describe_state(
            self.name,
            policy,
            breakers.shown_state(slot.breaker, now),
            slot.breaker.failures,
            breakers.blocked_for(slot.breaker, now),
            ratelimit.used_today(slot.budget, wall),
        )


def _budget_refusal(
    budget: ratelimit.Budget, policy: Policy, now: float, wall: float
) -> Admission | None:
    if policy.per_day and ratelimit.used_today(budget, wall) >= policy.per_day:
        return Admission(False, PER_DAY, ratelimit.seconds_to_next_day(wall))
    if policy.per_second:
        wait = ratelimit.per_second_wait(budget.tat, now, policy.per_second)[0]
        if wait:
            return Admission(False, PER_SECOND, wait)
    return None


def describe_state(
    backend: str,
    policy: Policy,
    state: str,
    failures: int,
    blocked_for: float,
    used_today: int,
) -> dict[str, Any]:
    """Shape the state of one integration for the CLI, console and metrics."""
    return {
        "backend": backend,
        "breaker": state,
        "consecutive_failures": failures,
        "breaker_retry_in": round(blocked_for, 3),
        "requests_today": used_today,
        "per_day": policy.per_day,
        "per_second": policy.per_second,
    }
