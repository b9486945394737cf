"""Failed console sign-ins counted in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import update

from scimrelay.admin.throttle import (
    BASE_DELAY,
    FORGET_AFTER,
    FREE_ATTEMPTS,
    MAX_DELAY,
    LoginThrottle,
)
from scimrelay.context import AppContext
from scimrelay.store.models import SignInFailure

ACCOUNT = "email:owner@example.com"
CLIENT = "client:192.0.2.7"


class Clock:
    """A clock that moves only when the test sets it."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_free_attempts_then_wait(context: AppContext) -> None:
    clock = Clock()
    throttle = LoginThrottle(context.store, clock)
    counts = [throttle.failed(ACCOUNT, CLIENT) for _ in range(FREE_ATTEMPTS)]

    assert counts == list(range(1, FREE_ATTEMPTS + 1))
    assert throttle.wait_seconds(ACCOUNT) == BASE_DELAY
    assert throttle.wait_seconds("email:someone-else@example.com") == 0


def test_wait_doubles_with_each_failure(context: AppContext) -> None:
    clock = Clock()
    throttle = LoginThrottle(context.store, clock)
    for _ in range(FREE_ATTEMPTS + 1):
        throttle.failed(ACCOUNT)

    assert throttle.wait_seconds(ACCOUNT) == 2 * BASE_DELAY


def test_success_clears_the_account(context: AppContext) -> None:
    throttle = LoginThrottle(context.store, Clock())
    for _ in range(FREE_ATTEMPTS):
        throttle.failed(ACCOUNT, CLIENT)
    throttle.succeeded(ACCOUNT)

    assert throttle.wait_seconds(ACCOUNT) == 0
    assert throttle.wait_seconds(CLIENT) == BASE_DELAY


def test_old_failures_are_forgotten(context: AppContext) -> None:
    clock = Clock()
    throttle = LoginThrottle(context.store, clock)
    for _ in range(FREE_ATTEMPTS):
        throttle.failed(ACCOUNT)
    clock.now += FORGET_AFTER + 1

    assert throttle.wait_seconds(ACCOUNT) == 0
    assert throttle.failed(ACCOUNT) == 1


def test_concurrent_failures_all_count(context: AppContext) -> None:
    """Failures counted at once from several workers add up, none lost."""
    throttle = LoginThrottle(context.store)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: throttle.failed(ACCOUNT), range(40)))

    assert throttle.failed(ACCOUNT) == 41


def test_thousands_of_failures_wait_max_delay(context: AppContext) -> None:
    """A count far past the doubling range keeps the longest wait, with no error."""
    throttle = LoginThrottle(context.store, Clock())
    throttle.failed(ACCOUNT)
    with context.store.session() as session:
        session.execute(update(SignInFailure).values(failures=2000))

    count = throttle.failed(ACCOUNT)

    assert count == 2001
    assert throttle.wait_seconds(ACCOUNT) == MAX_DELAY
