"""The integration form: reading it, turning it into service input, re-showing it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import zip_longest

from scimrelay.adapt.catalog import RULES, Rule
from scimrelay.adapt.profiles import DEFAULT_PROFILE, PROFILES
from scimrelay.adapt.settings import PROVIDER_AUTH
from scimrelay.admin.operations import HeaderRow
from scimrelay.console.framework import Call
from scimrelay.errors import SettingsError
from scimrelay.integrations.service import IntegrationInput, IntegrationView
from scimrelay.integrations.validation import (
    DEFAULT_GROUP_DESCRIPTION,
    MAX_HEADERS,
    Header,
)

HEADER_FIELD = re.compile(r"headers\[(\d+)\]\.(name|value)")


@dataclass
class FormRow:
    """One header row as shown: a secret row's stored value stays hidden."""

    name: str = ""
    value: str = ""
    kept: str = ""
    secret: bool = False
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def stored(cls, header: Header) -> FormRow:
        if header.secret:
            return cls(name=header.name, kept=header.name, secret=True)
        return cls(name=header.name, value=header.value)


@dataclass
class IntegrationForm:
    name: str = ""
    tenant_id: str = ""
    scim_url: str = ""
    group_description: str = ""
    rows: list[FormRow] = field(default_factory=list)
    profile: str = DEFAULT_PROFILE
    disabled_rules: list[str] = field(default_factory=list)
    provider_auth: str = PROVIDER_AUTH[0]
    errors: dict[str, str] = field(default_factory=dict)

    max_headers: int = MAX_HEADERS
    default_group_description: str = DEFAULT_GROUP_DESCRIPTION
    profiles: tuple[str, ...] = tuple(PROFILES)
    rules: tuple[Rule, ...] = RULES
    provider_auth_modes: tuple[str, ...] = PROVIDER_AUTH

    def profiles_with(self, rule: str) -> str:
        """Return the profiles that have a rule, space-separated for the page."""
        return " ".join(name for name, rules in PROFILES.items() if rule in rules)

    def offers(self, rule: str) -> bool:
        """Tell whether the chosen profile has a rule."""
        return rule in PROFILES.get(self.profile, ())

    @classmethod
    def from_view(cls, view: IntegrationView, headers: list[Header]) -> IntegrationForm:
        template = view.group_description
        return cls(
            name=view.name,
            tenant_id=view.tenant_id,
            scim_url=view.scim_url,
            group_description="" if template == DEFAULT_GROUP_DESCRIPTION else template,
            rows=[FormRow.stored(header) for header in headers],
            profile=view.profile,
            disabled_rules=list(view.disabled_rules),
            provider_auth=view.provider_auth,
        )

    @classmethod
    def from_call(cls, call: Call) -> IntegrationForm:
        names = call.fields("header_name")
        values = call.fields("header_value")
        kept = call.fields("header_kept")
        secret = call.fields("header_secret")
        rows = [
            FormRow(name.strip(), value, original, flag == "1")
            for name, value, original, flag in zip_longest(
                names, values, kept, secret, fillvalue=""
            )
            if name.strip() or value or original
        ]
        profile = call.field("profile") or DEFAULT_PROFILE
        enabled = set(call.fields("enabled_rule"))
        return cls(
            name=call.field("name"),
            tenant_id=call.field("tenant_id"),
            scim_url=call.field("scim_url"),
            group_description=call.field("group_description").strip(),
            rows=rows,
            profile=profile,
            disabled_rules=[
                rule for rule in PROFILES.get(profile, ()) if rule not in enabled
            ],
            provider_auth=call.field("provider_auth") or PROVIDER_AUTH[0],
        )

    def header_rows(self) -> list[HeaderRow]:
        """Return the rows for the service; an untouched kept row keeps its value."""
        return [
            HeaderRow(
                row.name,
                None if row.kept and not row.value else row.value,
                row.kept or None,
                row.secret,
            )
            for row in self.rows
        ]

    def input(self, call: Call, integration_id: str | None) -> IntegrationInput:
        token = call.field("token").strip()
        template = self.group_description or (
            None if integration_id is None else DEFAULT_GROUP_DESCRIPTION
        )
        return IntegrationInput(
            name=self.name,
            scim_url=self.scim_url,
            token=token if token or integration_id is None else None,
            headers=call.ops.fill_headers(integration_id, self.header_rows()),
            group_description=template,
            profile=self.profile,
            disabled_rules=self.disabled_rules,
            provider_auth=self.provider_auth,
        )

    def show_errors(self, error: SettingsError) -> None:
        """Put each field's message next to its input."""
        for item in error.errors:
            match = HEADER_FIELD.fullmatch(item.field)
            if match and int(match[1]) <= len(self.rows):
                self.rows[int(match[1]) - 1].errors[match[2]] = item.message
            else:
                self.errors.setdefault(item.field, item.message)
