"""An integration's limits and timeouts, and the rules for setting them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from scimrelay.integrations.validation import Checked

# Okta and Entra ID give up on a SCIM call after about 30 seconds or more, so
# the relay answers (with a retry or a 504) before they do.
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 20.0
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_BREAKER_FAILURES = 5
DEFAULT_BREAKER_COOLDOWN = 30.0
LIMITS: dict[str, tuple[float, float]] = {
    "per_second": (0.0, 100_000.0),
    "per_day": (0.0, 1_000_000_000.0),
    "connect_timeout": (0.1, 120.0),
    "read_timeout": (0.1, 600.0),
    "total_timeout": (0.1, 600.0),
    "max_attempts": (1.0, 10.0),
    "breaker_failures": (1.0, 10_000.0),
    "breaker_cooldown": (0.5, 86_400.0),
}
INTEGER_FIELDS = frozenset({"per_day", "max_attempts", "breaker_failures"})


@dataclass(frozen=True, slots=True)
class Policy:
    """Limits for one integration; a rate of 0 means no limit.

    ``total_timeout`` of None means the relay-wide
    ``SCIMRELAY_DOWNSTREAM_TIMEOUT``.
    """

    per_second: float = 0.0
    per_day: int = 0
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    total_timeout: float | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    breaker_failures: int = DEFAULT_BREAKER_FAILURES
    breaker_cooldown: float = DEFAULT_BREAKER_COOLDOWN

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_row(cls, row: Any) -> Policy:
        """Build a policy from a stored row, defaults where a column is null."""
        values = {
            item.name: getattr(row, item.name)
            for item in fields(cls)
            if getattr(row, item.name, None) is not None
        }
        return cls(**values)


DEFAULT_POLICY = Policy()


def check_changes(current: Policy, changes: dict[str, Any]) -> Policy:
    """Apply an operator's changes to a policy, rejecting values out of range."""
    checked = Checked()
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if value is None:
            continue
        low, high = LIMITS[name]
        if not low <= value <= high:
            checked.reject(name, f"is {value}: use a number from {low:g} to {high:g}")
            continue
        clean[name] = int(value) if name in INTEGER_FIELDS else float(value)
    policy = replace(current, **clean)
    _check_timeouts(policy, checked)
    checked.raise_if_rejected()
    return policy


def _check_timeouts(policy: Policy, checked: Checked) -> None:
    total = policy.total_timeout
    if total is None:
        return
    for name in ("connect_timeout", "read_timeout"):
        if getattr(policy, name) > total:
            checked.reject(
                name,
                f"is longer than total_timeout ({total:g} s): lower it or raise "
                "total_timeout",
            )
