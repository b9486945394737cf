"""The YAML document that ``scimrelay export`` writes and ``scimrelay import`` reads.

::

    version: 1
    tenants:
      - id: 6f1c0a52-...             # optional; without it, matched by name
        name: Acme
        integrations:
          - id: 0b7e91d4-...         # optional; without it, matched by name
            name: Braze production
            scim_url: https://rest.iad-01.braze.com/scim/v2
            token: {env: BRAZE_TOKEN}
            headers:
              - name: X-Request-Origin
                value: YOUR-COMPANY
              - name: X-Api-Secret
                value: {file: secrets/braze-secret}
                secret: true
            group_description: Created via scimrelay for tenant {tenant_id}
            force_group_description: false
            profile: entra               # see docs/profiles.md
            disabled_rules: [string-booleans]
            provider_auth: bearer
            adaptation:
              list_404_empty: true
              max_members_per_patch: 1000
              max_filter_scan: 10000
            limits: {per_day: 5000}
            google_source:               # optional; see docs/google-workspace.md
              key: {file: secrets/google-key.json}
              subject: admin@example.com
              customer: my_customer      # or domain: example.com
              org_units: [/Sales]
              group_patterns: [eng-*@example.com]
              sync_groups: true
              delete_users: false
              interval_minutes: 60
              mapping: {title: organizations.title}

``token`` must be a reference: ``{env: NAME}`` reads an environment variable
and ``{file: PATH}`` reads a file, relative to the document's folder, without
its final line break. A header marked ``secret`` must be a reference too;
``secret`` defaults to true for a reference and false for plain text. A key
left out of an existing integration leaves that setting unchanged, and a key
left out of a new one gives it the default, so documents written before a
setting existed still import. ``limits`` and ``adaptation`` each state the
whole set, though: a value either leaves out, or sets to null, is reset to its
default. ``google_source`` states the whole source too, and its ``key``,
the service account's JSON key, must be a reference. Leaving
``google_source`` out keeps the integration's source as it is.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from scimrelay.adapt.settings import Adaptation
from scimrelay.errors import FieldError, SettingsError
from scimrelay.resilience.policy import Policy
from scimrelay.sync.service import DEFAULT_INTERVAL_MINUTES

FORMAT_VERSION = 1
TENANT_KEYS = frozenset({"id", "name", "integrations"})
INTEGRATION_KEYS = frozenset(
    {
        "id",
        "name",
        "scim_url",
        "token",
        "headers",
        "group_description",
        "force_group_description",
        "profile",
        "disabled_rules",
        "provider_auth",
        "adaptation",
        "limits",
        "google_source",
    }
)
GOOGLE_KEYS = frozenset(
    {
        "key",
        "subject",
        "customer",
        "domain",
        "org_units",
        "group_patterns",
        "sync_groups",
        "delete_users",
        "interval_minutes",
        "api_url",
        "mapping",
    }
)
HEADER_KEYS = frozenset({"name", "value", "secret"})
LIMIT_KEYS = frozenset(item.name for item in fields(Policy))
ADAPTATION_KEYS = frozenset(item.name for item in fields(Adaptation))
REFERENCE_HINT = "write {env: VARIABLE} or {file: PATH}"


@dataclass(frozen=True)
class SecretReference:
    """The source of a secret's value at import: a variable or a file."""

    source: str
    target: str

    def to_yaml(self) -> dict[str, str]:
        return {self.source: self.target}

    def resolve(self, base_dir: Path, environ: Mapping[str, str]) -> str:
        """Read the value; raise ``LookupError`` naming the fix when it is missing."""
        if self.source == "env":
            if self.target not in environ:
                raise LookupError(
                    f"the environment variable {self.target} is not set: set it "
                    "before importing"
                )
            return environ[self.target]

        path = base_dir / self.target
        try:
            return path.read_text(encoding="utf-8").removesuffix("\n")
        except OSError as error:
            raise LookupError(
                f"the file {path} cannot be read ({error.strerror}): check the path"
            ) from None


@dataclass(frozen=True)
class HeaderSpec:
    name: str
    value: SecretReference | str = field(repr=False)
    secret: bool = False


@dataclass(frozen=True)
class GoogleSourceSpec:
    """An integration's Google source as the document describes it."""

    key: SecretReference
    subject: str
    customer: str | None
    domain: str | None
    org_units: list[str]
    group_patterns: list[str]
    sync_groups: bool
    delete_users: bool
    interval_minutes: int
    api_url: str | None
    mapping: dict[str, str | None]


@dataclass(frozen=True)
class IntegrationSpec:
    """One integration as the document describes it; ``None`` means not given."""

    path: str
    id: str | None
    name: str
    scim_url: str
    token: SecretReference
    headers: list[HeaderSpec] | None
    group_description: str | None
    force_group_description: bool | None
    limits: dict[str, float | None] | None = None
    google_source: GoogleSourceSpec | None = None
    profile: str | None = None
    disabled_rules: list[str] | None = None
    provider_auth: str | None = None
    adaptation: dict[str, bool | int | None] | None = None


@dataclass(frozen=True)
class TenantSpec:
    path: str
    id: str | None
    name: str
    integrations: list[IntegrationSpec]


@dataclass
class _Reader:
    """Collects every problem of a document, each with the path of its field."""

    errors: list[FieldError] = field(default_factory=list)

    def reject(self, path: str, message: str) -> None:
        self.errors.append(FieldError(path, message))

    def mapping(self, value: object, path: str, keys: frozenset[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.reject(path, "must be a mapping of keys to values")
            return {}

        for key in sorted(set(map(str, value)) - keys):
            self.reject(
                f"{path}.{key}", f"is not a known key: use {', '.join(sorted(keys))}"
            )
        return value

    def sequence(self, value: object, path: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.reject(path, "must be a list")
            return []
        return value

    def text(self, value: object, path: str, *, required: bool = True) -> str | None:
        if value is None and not required:
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            self.reject(path, "is missing or not text: give a string")
            return None
        return value

    def flag(self, value: object, path: str) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        self.reject(path, "must be true or false")
        return None

    def reference(self, value: object, path: str) -> SecretReference | None:
        if not isinstance(value, dict) or len(value) != 1:
            self.reject(
                path, f"must reference the secret, not contain it: {REFERENCE_HINT}"
            )
            return None

        ((source, target),) = value.items()
        if source not in ("env", "file") or not isinstance(target, str) or not target:
            self.reject(path, f"is not a valid reference: {REFERENCE_HINT}")
            return None
        return SecretReference(source, target)


def parse_document(data: object) -> list[TenantSpec]:
    """Check a loaded YAML document and return its tenants; raise ``SettingsError``."""
    reader = _Reader()
    root = reader.mapping(data, "document", frozenset({"version", "tenants"}))
    if root and root.get("version") != FORMAT_VERSION:
        reader.reject(
            "version",
            f"must be {FORMAT_VERSION}: this release reads version {FORMAT_VERSION}",
        )
    tenants = [
        _tenant(reader, item, f"tenants[{position}]")
        for position, item in enumerate(
            reader.sequence(root.get("tenants"), "tenants"), start=1
        )
    ]
    if reader.errors:
        raise SettingsError(reader.errors)
    return [tenant for tenant in tenants if tenant is not None]


def _tenant(reader: _Reader, value: object, path: str) -> TenantSpec | None:
    item = reader.mapping(value, path, TENANT_KEYS)
    name = reader.text(item.get("name"), f"{path}.name")
    tenant_id = reader.text(item.get("id"), f"{path}.id", required=False)
    integrations = [
        _integration(reader, entry, f"{path}.integrations[{position}]")
        for position, entry in enumerate(
            reader.sequence(item.get("integrations"), f"{path}.integrations"), start=1
        )
    ]
    if name is None:
        return None
    return TenantSpec(
        path, tenant_id, name, [spec for spec in integrations if spec is not None]
    )


def _integration(reader: _Reader, value: object, path: str) -> IntegrationSpec | None:
    item = reader.mapping(value, path, INTEGRATION_KEYS)
    name = reader.text(item.get("name"), f"{path}.name")
    scim_url = reader.text(item.get("scim_url"), f"{path}.scim_url")
    token = reader.reference(item.get("token"), f"{path}.token")
    headers = _headers(reader, item.get("headers"), f"{path}.headers")
    spec = IntegrationSpec(
        path=path,
        id=reader.text(item.get("id"), f"{path}.id", required=False),
        name=name or "",
        scim_url=scim_url or "",
        token=token or SecretReference("env", ""),
        headers=headers,
        group_description=reader.text(
            item.get("group_description"), f"{path}.group_description", required=False
        ),
        force_group_description=reader.flag(
            item.get("force_group_description"), f"{path}.force_group_description"
        ),
        limits=_limits(reader, item.get("limits"), f"{path}.limits"),
        google_source=_google(
            reader, item.get("google_source"), f"{path}.google_source"
        ),
        **_profile(reader, item, path),
    )
    return spec if name and scim_url and token else None


def _headers(reader: _Reader, value: object, path: str) -> list[HeaderSpec] | None:
    if value is None:
        return None

    headers = []
    for position, entry in enumerate(reader.sequence(value, path), start=1):
        header = _header(reader, entry, f"{path}[{position}]")
        if header is not None:
            headers.append(header)
    return headers


def _header(reader: _Reader, value: object, path: str) -> HeaderSpec | None:
    item = reader.mapping(value, path, HEADER_KEYS)
    name = reader.text(item.get("name"), f"{path}.name")
    raw = item.get("value")
    header_value: SecretReference | str | None = (
        raw if isinstance(raw, str) else reader.reference(raw, f"{path}.value")
    )
    secret = reader.flag(item.get("secret"), f"{path}.secret")
    if secret is None:
        secret = isinstance(header_value, SecretReference)
    if secret and isinstance(header_value, str):
        reader.reject(
            f"{path}.value",
            f"is a secret header's value in plain text: {REFERENCE_HINT}",
        )
        return None
    if name is None or header_value is None:
        return None
    return HeaderSpec(name, header_value, secret)


def _limits(
    reader: _Reader, value: object, path: str
) -> dict[str, float | None] | None:
    if value is None:
        return None

    item = reader.mapping(value, path, LIMIT_KEYS)
    limits: dict[str, float | None] = {}
    for key, number in item.items():
        if number is not None and (
            isinstance(number, bool) or not isinstance(number, int | float)
        ):
            reader.reject(f"{path}.{key}", "must be a number, or null for the default")
        elif key in LIMIT_KEYS:
            limits[str(key)] = number
    return limits


def _profile(reader: _Reader, item: dict[str, Any], path: str) -> dict[str, Any]:
    """Read the profile and adaptation keys; the service checks their values."""
    rules = item.get("disabled_rules")
    return {
        "profile": reader.text(item.get("profile"), f"{path}.profile", required=False),
        "disabled_rules": (
            None if rules is None else _texts(reader, rules, f"{path}.disabled_rules")
        ),
        "provider_auth": reader.text(
            item.get("provider_auth"), f"{path}.provider_auth", required=False
        ),
        "adaptation": _adaptation(reader, item.get("adaptation"), f"{path}.adaptation"),
    }


def _adaptation(
    reader: _Reader, value: object, path: str
) -> dict[str, bool | int | None] | None:
    """Read adaptation settings, each a value of its default's type or null."""
    if value is None:
        return None

    defaults = Adaptation()
    settings: dict[str, bool | int | None] = {}
    for key, setting in reader.mapping(value, path, ADAPTATION_KEYS).items():
        if key not in ADAPTATION_KEYS:
            continue
        kind = type(getattr(defaults, key))
        if setting is not None and type(setting) is not kind:
            expected = "true or false" if kind is bool else "a whole number"
            reader.reject(
                f"{path}.{key}", f"must be {expected}, or null for the default"
            )
        else:
            settings[key] = setting
    return settings


def _google(reader: _Reader, value: object, path: str) -> GoogleSourceSpec | None:
    """Read a Google source; the service layer checks each value at import."""
    if value is None:
        return None

    item = reader.mapping(value, path, GOOGLE_KEYS)
    key = reader.reference(item.get("key"), f"{path}.key")
    subject = reader.text(item.get("subject"), f"{path}.subject")
    interval = _interval(reader, item.get("interval_minutes"), path)
    mapping = _mapping(reader, item.get("mapping"), path)
    optional = {
        name: reader.text(item.get(name), f"{path}.{name}", required=False)
        for name in ("customer", "domain", "api_url")
    }
    sync_groups = reader.flag(item.get("sync_groups"), f"{path}.sync_groups")
    delete_users = reader.flag(item.get("delete_users"), f"{path}.delete_users")
    if key is None or subject is None:
        return None
    return GoogleSourceSpec(
        key=key,
        subject=subject,
        org_units=_texts(reader, item.get("org_units"), f"{path}.org_units"),
        group_patterns=_texts(
            reader, item.get("group_patterns"), f"{path}.group_patterns"
        ),
        sync_groups=sync_groups is not False,
        delete_users=bool(delete_users),
        interval_minutes=interval,
        mapping=mapping,
        **optional,
    )


def _interval(reader: _Reader, value: object, path: str) -> int:
    if value is None:
        return DEFAULT_INTERVAL_MINUTES
    if isinstance(value, bool) or not isinstance(value, int):
        reader.reject(f"{path}.interval_minutes", "must be a whole number of minutes")
        return DEFAULT_INTERVAL_MINUTES
    return value


def _mapping(reader: _Reader, value: object, path: str) -> dict[str, str | None]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(field, str | None) for field in value.values()
    ):
        reader.reject(
            f"{path}.mapping",
            "must map SCIM attributes to Google fields, such as "
            "{title: organizations.title}, or to null to leave one alone",
        )
        return {}
    return {str(target): field for target, field in value.items()}


def _texts(reader: _Reader, value: object, path: str) -> list[str]:
    items = reader.sequence(value, path)
    if not all(isinstance(item, str) for item in items):
        reader.reject(path, "must be a list of strings")
        return []
    return items


def resolve(
    reference: SecretReference | str,
    path: str,
    base_dir: Path,
    errors: list[FieldError],
    environ: Mapping[str, str] | None = None,
) -> str:
    """Return a secret's value, or record why it cannot be read and return ""."""
    if isinstance(reference, str):
        return reference

    try:
        return reference.resolve(base_dir, os.environ if environ is None else environ)
    except LookupError as error:
        errors.append(FieldError(path, str(error)))
        return ""
