"""Checking the adaptation settings an operator gives an integration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scimrelay.adapt.catalog import RULES_BY_NAME
from scimrelay.adapt.profiles import PROFILES
from scimrelay.integrations.validation import Checked

PROVIDER_AUTH = ("bearer", "basic")
MAX_LIMIT = 100_000


@dataclass(frozen=True)
class Adaptation:
    """Per-integration limits and switches of the capability adaptations."""

    list_404_empty: bool = True
    max_members_per_patch: int = 1000
    max_filter_scan: int = 10_000

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any] | None) -> Adaptation:
        stored = stored or {}
        fields = cls.__dataclass_fields__
        return cls(**{name: stored[name] for name in fields if name in stored})


def check_profile(value: str, checked: Checked) -> str:
    profile = value.strip().lower()
    if profile not in PROFILES:
        checked.reject(
            "profile", f"{value!r} is unknown: use one of {', '.join(PROFILES)}"
        )
    return profile


def check_disabled_rules(
    values: list[str], profile: str, checked: Checked
) -> list[str]:
    """Check rule names; each must be a rule of the integration's profile."""
    rules = sorted({value.strip() for value in values if value.strip()})
    unknown = [rule for rule in rules if rule not in RULES_BY_NAME]
    if unknown:
        checked.reject(
            "disabled_rules",
            f"unknown rule {', '.join(unknown)}: use names from "
            "`scimrelay integration rules`",
        )
    if profile not in PROFILES:
        return rules
    offered = PROFILES[profile]
    outside = [rule for rule in rules if rule in RULES_BY_NAME and rule not in offered]
    if outside:
        fix = (
            f"disable only its rules ({', '.join(offered)})"
            if offered
            else "it has no rules to disable"
        )
        checked.reject(
            "disabled_rules",
            f"{', '.join(outside)} is not a rule of the profile {profile}: {fix}, "
            "or choose a profile that has the rule",
        )
    return rules


def rules_of(profile: str, disabled: list[str]) -> list[str]:
    """Return the disabled rules that the profile has; the others do nothing."""
    offered = PROFILES.get(profile, ())
    return [rule for rule in disabled if rule in offered]


def check_provider_auth(value: str, checked: Checked) -> str:
    scheme = value.strip().lower()
    if scheme not in PROVIDER_AUTH:
        checked.reject("provider_auth", f"{value!r} is unknown: use bearer or basic")
    return scheme


def check_adaptation(values: Mapping[str, Any], checked: Checked) -> dict[str, Any]:
    """Check adaptation settings; limits are whole numbers from 1 to 100000."""
    result: dict[str, Any] = {}
    for name, value in values.items():
        if name not in Adaptation.__dataclass_fields__:
            checked.reject(name, "is not an adaptation setting")
        elif name == "list_404_empty":
            result[name] = bool(value)
        elif not isinstance(value, int) or not 1 <= value <= MAX_LIMIT:
            checked.reject(name, f"must be a whole number from 1 to {MAX_LIMIT}")
        else:
            result[name] = value
    return result
