"""Slowing down repeated sign-ins, per account and per client address.

Each attempt is counted against its keys before the password is checked. The
``FREE_ATTEMPTS``-th attempt blocks a key for ``BASE_DELAY`` seconds, and each
attempt admitted after a wait doubles it, up to ``MAX_DELAY``. A blocked key
admits no attempt until its wait ends, so concurrent attempts cannot all pass
the check before the first one is counted. A success clears the account's
count and gives the client address its attempt back. The counts live in the
store, so every worker and every instance sharing it throttles together.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    Connection,
    case,
    delete,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from scimrelay.store.database import Store
from scimrelay.store.models import SignInFailure

FREE_ATTEMPTS = 5
BASE_DELAY = 30.0
MAX_DELAY = 900.0
FORGET_AFTER = 3600.0
# Doublings of BASE_DELAY past which the wait is MAX_DELAY anyway.
MAX_DOUBLINGS = math.ceil(math.log2(MAX_DELAY / BASE_DELAY))


@dataclass(frozen=True)
class Attempt:
    """The throttle's decision on one sign-in attempt."""

    # Seconds to wait before the next attempt, or 0 when this one was admitted.
    wait: int
    # The highest count among the keys, including this attempt, or 0 if blocked.
    count: int


class LoginThrottle:
    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    def attempt(self, *keys: str) -> Attempt:
        """Count an attempt against every key, or none if any key is blocked.

        The keys are locked in one order, so concurrent attempts on PostgreSQL
        cannot deadlock.
        """
        now = self.clock()
        digests = sorted({_digest(key) for key in keys})
        with self.store.engine.connect() as connection:
            counts = [_count_attempt(connection, digest, now) for digest in digests]
            admitted = [count for count in counts if count is not None]
            if len(admitted) < len(counts):
                wait = _wait(connection, digests, now)
                connection.rollback()
                return Attempt(wait=wait, count=0)

            connection.commit()
        self._forget_stale(now)
        return Attempt(wait=0, count=max(admitted, default=0))

    def succeeded(self, account: str, client: str) -> None:
        """Clear the account's count and take one attempt off the client's count.

        The client's wait ends when its count falls below ``FREE_ATTEMPTS``, so
        an address whose attempts all succeed is never blocked.
        """
        remaining = SignInFailure.failures - 1
        with self.store.session() as session:
            session.execute(
                delete(SignInFailure).where(SignInFailure.key == _digest(account))
            )
        with self.store.session() as session:
            session.execute(
                update(SignInFailure)
                .where(SignInFailure.key == _digest(client), SignInFailure.failures > 0)
                .values(
                    failures=remaining,
                    blocked_until=case(
                        (remaining < FREE_ATTEMPTS, 0.0),
                        else_=SignInFailure.blocked_until,
                    ),
                )
            )

    def _forget_stale(self, now: float) -> None:
        """Delete counts untouched for ``FORGET_AFTER`` seconds.

        Rows that a concurrent attempt has locked are left for a later call, so
        the delete never waits on an attempt that waits on it.
        """
        stale = (
            select(SignInFailure.key)
            .where(SignInFailure.last_failure < now - FORGET_AFTER)
            .with_for_update(skip_locked=True)
        )
        with self.store.session() as session:
            session.execute(delete(SignInFailure).where(SignInFailure.key.in_(stale)))


def _count_attempt(connection: Connection, key: str, now: float) -> int | None:
    """Count one attempt against ``key`` and return its count, or None if blocked.

    One upsert reads and changes the row, so the database serialises concurrent
    attempts on a key and only one of them finds the wait over.
    """
    stale = SignInFailure.last_failure < now - FORGET_AFTER
    count = case((stale, 1), else_=SignInFailure.failures + 1)
    upsert = (
        _insert(connection.dialect.name)
        .values(
            key=key,
            failures=1,
            blocked_until=_blocked_until(literal(1), now),
            last_failure=now,
        )
        .on_conflict_do_update(
            index_elements=[SignInFailure.key],
            set_={
                "failures": count,
                "blocked_until": _blocked_until(count, now),
                "last_failure": now,
            },
            where=(SignInFailure.blocked_until <= now) | stale,
        )
        .returning(SignInFailure.failures)
    )
    return connection.scalar(upsert)


def _blocked_until(count: ColumnElement[int], now: float) -> ColumnElement[float]:
    """Return the SQL for when a key with ``count`` attempts is next admitted."""
    waits = [
        (count == FREE_ATTEMPTS + extra, now + BASE_DELAY * 2**extra)
        for extra in range(MAX_DOUBLINGS)
    ]
    return case((count < FREE_ATTEMPTS, 0.0), *waits, else_=now + MAX_DELAY)


def _wait(connection: Connection, digests: list[str], now: float) -> int:
    """Return the whole seconds until every one of ``digests`` is admitted again."""
    blocked = connection.scalar(
        select(func.max(SignInFailure.blocked_until)).where(
            SignInFailure.key.in_(digests)
        )
    )
    return max(1, math.ceil(float(blocked or now) - now))


def _insert(dialect: str) -> postgresql.Insert | sqlite.Insert:
    if dialect == "postgresql":
        return postgresql.insert(SignInFailure)
    return sqlite.insert(SignInFailure)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
