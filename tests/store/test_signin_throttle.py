"""Console sign-in attempts counted in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import update

from scimrelay.admin.throttle import (
    BASE_DELAY,
    FORGET_AFTER,
    FREE_ATTEMPTS,
    MAX_DELAY,
    Attempt,
    LoginThrottle,
)
from scimrelay.context import AppContext
from scimrelay.store.models import SignInFailure

ACCOUNT = "email:owner@example.com"
CLIENT = "client:192.0.2.7"
CONCURRENT_ATTEMPTS = 40


class Clock:
    """A clock that moves only when the test sets it."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def use_free_attempts(throttle: LoginThrottle, *keys: str) -> list[Attempt]:
    return [throttle.attempt(*keys) for _ in range(FREE_ATTEMPTS)]


def attempt_at_once(throttle: LoginThrottle, *keys: str) -> list[Attempt]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(
            pool.map(lambda _: throttle.attempt(*keys), range(CONCURRENT_ATTEMPTS))
        )


def test_free_attempts_then_wait(context: AppContext) -> None:
    throttle = LoginThrottle(context.store, Clock())
    attempts = use_free_attempts(throttle, ACCOUNT, CLIENT)

    assert [attempt.wait for attempt in attempts] == [0] * FREE_ATTEMPTS
    assert [attempt.count for attempt in attempts] == list(range(1, FREE_ATTEMPTS + 1))
    assert throttle.attempt(ACCOUNT).wait == BASE_DELAY
    assert throttle.attempt("email:someone-else@example.com").wait == 0


def test_blocked_attempt_counts_no_key(context: AppContext) -> None:
    """An attempt blocked by the account leaves the client's count alone."""
    throttle = LoginThrottle(context.store, Clock())
    use_free_attempts(throttle, ACCOUNT)
    blocked = throttle.attempt(ACCOUNT, CLIENT)

    assert blocked.wait == BASE_DELAY
    assert throttle.attempt(CLIENT).count == 1


def test_wait_doubles_after_each_wait(context: AppContext) -> None:
    clock = Clock()
    throttle = LoginThrottle(context.store, clock)
    use_free_attempts(throttle, ACCOUNT)
    clock.now += BASE_DELAY
    admitted = throttle.attempt(ACCOUNT)

    assert admitted.wait == 0
    assert admitted.count == FREE_ATTEMPTS + 1
    assert throttle.attempt(ACCOUNT).wait == 2 * BASE_DELAY


def test_success_clears_the_account(context: AppContext) -> None:
    """A success clears the account but gives the client back only one attempt."""
    throttle = LoginThrottle(context.store, Clock())
    use_free_attempts(throttle, ACCOUNT, CLIENT)
    throttle.succeeded(ACCOUNT, CLIENT)

    assert throttle.attempt(ACCOUNT).count == 1
    assert throttle.attempt(CLIENT).count == FREE_ATTEMPTS
    assert throttle.attempt(CLIENT).wait == BASE_DELAY


def test_successes_never_block_the_client(context: AppContext) -> None:
    throttle = LoginThrottle(context.store, Clock())
    attempts = []
    for number in range(3 * FREE_ATTEMPTS):
        account = f"email:user{number % 2}@example.com"
        attempts.append(throttle.attempt(account, CLIENT))
        throttle.succeeded(account, CLIENT)

    assert [attempt.wait for attempt in attempts] == [0] * (3 * FREE_ATTEMPTS)
    assert {attempt.count for attempt in attempts} == {1}


def test_old_attempts_are_forgotten(context: AppContext) -> None:
    clock = Clock()
    throttle = LoginThrottle(context.store, clock)
    use_free_attempts(throttle, ACCOUNT)
    clock.now += FORGET_AFTER + 1

    assert throttle.attempt(ACCOUNT) == Attempt(wait=0, count=1)


def test_concurrent_attempts_admit_free_ones(context: AppContext) -> None:
    """Attempts made at once from several workers admit only the free ones."""
    throttle = LoginThrottle(context.store, Clock())
    attempts = attempt_at_once(throttle, ACCOUNT, CLIENT)
    admitted = sorted(attempt.count for attempt in attempts if not attempt.wait)
    waits = {attempt.wait for attempt in attempts if attempt.wait}

    assert admitted == list(range(1, FREE_ATTEMPTS + 1))
    assert waits == {BASE_DELAY}


def test_concurrent_attempts_after_wait_admit_one(context: AppContext) -> None:
    clock = Clock()
    throttle = LoginThrottle(context.store, clock)
    use_free_attempts(throttle, ACCOUNT, CLIENT)
    clock.now += BASE_DELAY
    attempts = attempt_at_once(throttle, ACCOUNT, CLIENT)
    admitted = [attempt for attempt in attempts if not attempt.wait]

    assert admitted == [Attempt(wait=0, count=FREE_ATTEMPTS + 1)]
    assert {attempt.wait for attempt in attempts} == {0, 2 * BASE_DELAY}


def test_thousands_of_attempts_wait_max_delay(context: AppContext) -> None:
    """A count far past the doubling range keeps the longest wait, with no error."""
    throttle = LoginThrottle(context.store, Clock())
    throttle.attempt(ACCOUNT)
    with context.store.session() as session:
        session.execute(update(SignInFailure).values(failures=2000))

    assert throttle.attempt(ACCOUNT).count == 2001
    assert throttle.attempt(ACCOUNT).wait == MAX_DELAY
