"""Request budgets: per second (GCRA) and per UTC day (a fixed window).

The per-second budget is the generic cell rate algorithm: a bucket of
``ceil(rate)`` requests that refills at ``rate`` per second, kept as one
number, the theoretical arrival time. The daily budget counts requests per
UTC calendar day, the way SaaS quotas such as Braze's 5,000 a day reset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DAY_SECONDS = 86_400


@dataclass(slots=True)
class Budget:
    """The rate-limit state of one integration."""

    tat: float = 0.0
    day: int = -1
    used_today: int = 0


def per_second_wait(tat: float, now: float, rate: float) -> tuple[float, float]:
    """Return (seconds to wait, next arrival time) for one request at ``now``.

    A wait of 0 admits the request; the caller stores the new arrival time.
    """
    interval = 1.0 / rate
    tolerance = interval * (max(1, math.ceil(rate)) - 1)
    base = max(tat, now)
    if base - now > tolerance:
        return base - tolerance - now, tat
    return 0.0, base + interval


def day_of(wall: float) -> int:
    return int(wall // DAY_SECONDS)


def seconds_to_next_day(wall: float) -> float:
    return (day_of(wall) + 1) * DAY_SECONDS - wall


def used_today(budget: Budget, wall: float) -> int:
    return budget.used_today if budget.day == day_of(wall) else 0
