"""Slowing down repeated failed sign-ins, per account and per client address.

After ``FREE_ATTEMPTS`` failures a key must wait before the next attempt, and
the wait doubles with each further failure, up to ``MAX_DELAY`` seconds. A
success clears the account's count. The counts live in the store, so every
worker and every instance sharing it throttles together.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from scimrelay.store.database import Store
from scimrelay.store.models import SignInFailure

FREE_ATTEMPTS = 5
BASE_DELAY = 30.0
MAX_DELAY = 900.0
FORGET_AFTER = 3600.0
# Doublings of BASE_DELAY past which the wait is MAX_DELAY anyway.
MAX_DOUBLINGS = math.ceil(math.log2(MAX_DELAY / BASE_DELAY))


class LoginThrottle:
    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    def wait_seconds(self, *keys: str) -> int:
        """Return how long these keys must wait before trying again, or 0."""
        now = self.clock()
        query = select(SignInFailure.blocked_until).where(
            SignInFailure.key.in_([_digest(key) for key in keys]),
            SignInFailure.last_failure > now - FORGET_AFTER,
        )
        with self.store.session() as session:
            blocked = max(session.scalars(query), default=0.0)
        return max(0, math.ceil(blocked - now))

    def failed(self, *keys: str) -> int:
        """Count a failure against each key and return the highest count."""
        now = self.clock()
        with self.store.session() as session:
            counts = [_count_failure(session, _digest(key), now) for key in keys]
            session.execute(
                delete(SignInFailure).where(
                    SignInFailure.last_failure < now - FORGET_AFTER
                )
            )
        return max(counts, default=0)

    def succeeded(self, key: str) -> None:
        with self.store.session() as session:
            session.execute(
                delete(SignInFailure).where(SignInFailure.key == _digest(key))
            )


def _count_failure(session: Session, key: str, now: float) -> int:
    """Count one more failure for ``key`` with one upsert, so concurrent ones add up."""
    stale = SignInFailure.last_failure < now - FORGET_AFTER
    upsert = (
        _insert(session.get_bind().dialect.name)
        .values(key=key, failures=1, blocked_until=0.0, last_failure=now)
        .on_conflict_do_update(
            index_elements=[SignInFailure.key],
            set_={
                "failures": case((stale, 1), else_=SignInFailure.failures + 1),
                "last_failure": now,
            },
        )
    )
    session.execute(upsert)
    failures = session.scalar(
        select(SignInFailure.failures).where(SignInFailure.key == key)
    )
    count = int(failures or 0)
    extra = count - FREE_ATTEMPTS
    if extra >= 0:
        # The exponent is capped, because 2**extra overflows a float past 1023.
        delay = min(BASE_DELAY * 2 ** min(extra, MAX_DOUBLINGS), MAX_DELAY)
        session.execute(
            update(SignInFailure)
            .where(SignInFailure.key == key)
            .values(blocked_until=now + delay)
        )
    return count


def _insert(dialect: str) -> postgresql.Insert | sqlite.Insert:
    if dialect == "postgresql":
        return postgresql.insert(SignInFailure)
    return sqlite.insert(SignInFailure)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
