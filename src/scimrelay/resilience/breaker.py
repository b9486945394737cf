"""The circuit breaker: closed, open, half-open.

Closed, it counts consecutive failed calls (connection errors, timeouts,
500, 502, 503, 504 after retries). At ``breaker_failures`` it opens: calls
are answered 503 at once for ``breaker_cooldown`` seconds. Then one call is
let through as a probe (half-open); its success closes the breaker, its
failure opens it again for another cooldown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

State = Literal["closed", "half_open", "open"]
CLOSED: Final = "closed"
OPEN: Final = "open"
HALF_OPEN: Final = "half_open"
FAILURE_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(slots=True)
class Breaker:
    """The breaker state of one integration."""

    state: State = CLOSED
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
) -> State | None:
    """Update the breaker with the outcome of one admitted call.

    Return the new state when the call changed it, else None.
    """
    if probe:
        breaker.probe_until = 0.0
        if ok:
            breaker.state, breaker.failures = CLOSED, 0
            return CLOSED
        _open(breaker, now, cooldown)
        return OPEN
    if breaker.state != CLOSED:
        return None

    breaker.failures = 0 if ok else breaker.failures + 1
    if breaker.failures < threshold:
        return None
    _open(breaker, now, cooldown)
    return OPEN


def _open(breaker: Breaker, now: float, cooldown: float) -> None:
    breaker.state = OPEN
    breaker.open_until = now + cooldown


def shown_state(breaker: Breaker, now: float) -> State:
    """Name the state as an operator sees it: open turns half-open after cooldown."""
    if breaker.state == OPEN and now >= breaker.open_until:
        return HALF_OPEN
    return breaker.state
