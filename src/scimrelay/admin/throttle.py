"""Slowing down repeated failed sign-ins, per account and per client address.

After ``FREE_ATTEMPTS`` failures a key must wait before the next attempt, and
the wait doubles with each further failure, up to ``MAX_DELAY`` seconds. A
success clears the account's count. The state lives in the process, so each
worker throttles on its own.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

FREE_ATTEMPTS = 5
BASE_DELAY = 30.0
MAX_DELAY = 900.0
FORGET_AFTER = 3600.0


@dataclass
class _Record:
    failures: int = 0
    blocked_until: float = 0.0
    last_failure: float = 0.0


class LoginThrottle:
    def __init__(self) -> None:
        self._records: dict[str, _Record] = {}
        self._lock = threading.Lock()

    def wait_seconds(self, *keys: str) -> int:
        """Return how long these keys must wait before trying again, or 0."""
        now = time.monotonic()
        with self._lock:
            waits = [self._wait(key, now) for key in keys]
        return max(waits, default=0)

    def _wait(self, key: str, now: float) -> int:
        record = self._records.get(key)
        if record is None:
            return 0
        if now - record.last_failure > FORGET_AFTER:
            del self._records[key]
            return 0
        return max(0, int(record.blocked_until - now + 0.999))

    def failed(self, *keys: str) -> int:
        """Count a failure against each key and return the highest count."""
        now = time.monotonic()
        counts = []
        with self._lock:
            for key in keys:
                record = self._records.setdefault(key, _Record())
                record.failures += 1
                record.last_failure = now
                extra = record.failures - FREE_ATTEMPTS
                if extra >= 0:
                    delay = min(BASE_DELAY * 2**extra, MAX_DELAY)
                    record.blocked_until = now + delay
                counts.append(record.failures)
        return max(counts, default=0)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._records.pop(key, None)
