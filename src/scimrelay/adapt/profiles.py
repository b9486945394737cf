"""Identity-provider profiles: which rewrite rules an integration applies."""

from __future__ import annotations

from collections.abc import Iterable

from scimrelay.adapt.catalog import PATCH_NO_CONTENT, RULES, RULES_BY_NAME

DEFAULT_PROFILE = "generic"

PROFILES: dict[str, tuple[str, ...]] = {
    "generic": (),
    "okta": ("drop-read-only-values", "add-as-replace", PATCH_NO_CONTENT),
    "entra": (
        "lowercase-patch-ops",
        "drop-unknown-schemas",
        "nest-dotted-keys",
        "drop-read-only-values",
        "string-booleans",
        "remove-members-by-value",
        "manager-value",
        "add-as-replace",
    ),
    "onelogin": (
        "lowercase-patch-ops",
        "drop-read-only-values",
        "string-booleans",
        "remove-members-by-value",
        "add-as-replace",
    ),
    "jumpcloud": (
        "lowercase-patch-ops",
        "nest-dotted-keys",
        "drop-read-only-values",
        "string-booleans",
        "remove-members-by-value",
        "add-as-replace",
        PATCH_NO_CONTENT,
    ),
}


def enabled_rules(profile: str, disabled: Iterable[str]) -> tuple[str, ...]:
    """Return the profile's rules minus the disabled ones, in application order."""
    chosen = set(PROFILES.get(profile, ())) - set(disabled)
    return tuple(rule.name for rule in RULES if rule.name in chosen)


def unknown_rules(names: Iterable[str]) -> list[str]:
    return [name for name in names if name not in RULES_BY_NAME]
