"""The circuit breaker: closed, open, half-open.

Closed, it counts consecutive failed calls (connection errors, timeouts,
500, 502, 503, 504 after retries). At ``breaker_failures`` it opens: calls
are answered 503 at once for ``breaker_cooldown`` seconds. Then one call is
let through as a probe (half-open); its success closes the breaker, its
failure opens it again for another cooldown.
"""

from __future__ import annotations

from dataclasses import dataclass

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"
FAILURE_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(slots=True)
class Breaker:
    """The breaker state of one integration."""

    state: str = CLOSED
    failures: int = 0
    open_until: float = 0.0
    probe_until: float = 0.0


def blocked_for(breaker: Breaker, now: float) -> float:
    """Return how long calls are refused from ``now``, or 0 if one may pass."""
    if breaker.state == OPEN and now < breaker.open_until:
        return breaker.open_until - now
    if breaker.state != CLOSED and now < breaker.probe_until:
        return breaker.probe_until - now
    return 0.0


def start_probe(breaker: Breaker, now: float, lease: float) -> bool:
    """Let one call through after the cooldown; return whether it is a probe."""
    if breaker.state == CLOSED:
        return False
    breaker.state = HALF_OPEN
    breaker.probe_until = now + lease
    return True


def record(
    breaker: Breaker,
    now: float,
    *,
    ok: bool,
    probe: bool,
    threshold: int,
    cooldown: float,
) -> None:
    """Update the breaker with the outcome of one admitted call."""
    if probe:
        if ok:
            breaker.state, breaker.failures = CLOSED, 0
        else:
            _open(breaker, now, cooldown)
        breaker.probe_until = 0.0
    elif breaker.state == CLOSED:
        breaker.failures = 0 if ok else breaker.failures + 1
        if breaker.failures >= threshold:
            _open(breaker, now, cooldown)


def _open(breaker: Breaker, now: float, cooldown: float) -> None:
    breaker.state = OPEN
    breaker.open_until = now + cooldown


def shown_state(breaker: Breaker, now: float) -> str:
    """Name the state as an operator sees it: open turns half-open after cooldown."""
    if breaker.state == OPEN and now >= breaker.open_until:
        return HALF_OPEN
    return breaker.state
