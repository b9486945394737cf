"""Apply a configuration document through the service layer, all or nothing.

Every tenant and integration goes through :class:`IntegrationService`, so the
rules are those of the CLI and the console. The whole document is applied in
one transaction: when any entry is rejected, every problem is reported with
the path of its field and nothing is stored. Importing the same document
again changes nothing, because each setting is compared with the stored one
and only differences are written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scimrelay.adapt import settings as adapt_settings
from scimrelay.adapt.settings import Adaptation
from scimrelay.errors import FieldError, NotFoundError, SettingsError
from scimrelay.integrations import validation
from scimrelay.integrations.service import (
    IntegrationInput,
    IntegrationService,
    IntegrationView,
    TenantView,
)
from scimrelay.integrations.validation import Checked, Header
from scimrelay.portability.document import (
    ADAPTATION_KEYS,
    IntegrationSpec,
    TenantSpec,
    parse_document,
    resolve,
)
from scimrelay.portability.google import SECTION, apply_google
from scimrelay.resilience.policy import DEFAULT_POLICY, check_changes
from scimrelay.sync.service import SourceService


@dataclass(frozen=True)
class Change:
    """One entry of the document and what importing it did."""

    kind: str
    id: str
    name: str
    action: str
    fields: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "name": self.name,
            "action": self.action,
            "fields": self.fields,
        }


@dataclass
class ImportReport:
    """The changes made, and the API key of each integration created (shown once)."""

    changes: list[Change] = field(default_factory=list)
    api_keys: dict[str, str] = field(default_factory=dict, repr=False)
    notices: list[str] = field(default_factory=list)
    dry_run: bool = False

    def count(self, action: str) -> int:
        return sum(change.action == action for change in self.changes)


class _DryRunDone(Exception):
    """Raised inside the transaction of a dry run so that it rolls back."""


def load_document(path: Path) -> list[TenantSpec]:
    """Read and check a YAML document; raise ``SettingsError`` naming the problem."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SettingsError.single(
            str(path), f"cannot be read: {error.strerror}"
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "syntax error"
        raise SettingsError.single(
            str(path), f"is not valid YAML{where}: {problem}"
        ) from None
    return parse_document(data)


class Importer:
    """Applies documents to the store through one ``IntegrationService``."""

    def __init__(
        self,
        service: IntegrationService,
        base_dir: Path,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._service = service
        self._base_dir = base_dir
        self._environ = environ

    def apply(
        self, tenants: list[TenantSpec], *, dry_run: bool = False
    ) -> ImportReport:
        """Apply every entry in one transaction; store nothing if any is rejected."""
        report = ImportReport(dry_run=dry_run)
        errors: list[FieldError] = []
        try:
            with self._service.store.transaction():
                for tenant in tenants:
                    self._apply_tenant(tenant, report, errors)
                if errors:
                    raise SettingsError(errors)
                if dry_run:
                    raise _DryRunDone
        except _DryRunDone:
            report.api_keys.clear()
        return report

    def _apply_tenant(
        self, spec: TenantSpec, report: ImportReport, errors: list[FieldError]
    ) -> None:
        try:
            tenant = self._upsert_tenant(spec, report)
        except (SettingsError, NotFoundError) as error:
            errors.extend(_at(spec.path, error))
            return

        for integration in spec.integrations:
            try:
                self._upsert_integration(tenant, integration, report)
            except (SettingsError, NotFoundError) as error:
                errors.extend(_at(integration.path, error))

    def _upsert_tenant(self, spec: TenantSpec, report: ImportReport) -> TenantView:
        existing = _find_tenant(self._service.list_tenants(), spec)
        if existing is None:
            created = self._service.create_tenant(spec.name, tenant_id=spec.id)
            report.changes.append(Change("tenant", created.id, created.name, "created"))
            return created

        name = spec.name.strip()
        if existing.name == name:
            report.changes.append(Change("tenant", existing.id, name, "unchanged"))
            return existing
        renamed = self._service.rename_tenant(existing.id, name)
        report.changes.append(Change("tenant", renamed.id, name, "updated", ["name"]))
        return renamed

    def _upsert_integration(
        self, tenant: TenantView, spec: IntegrationSpec, report: ImportReport
    ) -> None:
        data = self._input(spec)
        existing = _find_integration(self._service, tenant, spec)
        if existing is None:
            self._create(tenant, spec, data, report)
            return

        changes = self._differences(existing, data)
        if changes:
            _, notices = self._service.update_integration(
                existing.id, _only(data, changes)
            )
            report.notices.extend(f"{spec.path}.{notice}" for notice in notices)
        if self._apply_limits(existing.id, spec.limits):
            changes.append("limits")
        name = self._service.get_integration(existing.id).name
        action = "updated" if changes else "unchanged"
        report.changes.append(Change("integration", existing.id, name, action, changes))
        self._apply_google(existing.id, name, spec, report)

    def _create(
        self,
        tenant: TenantView,
        spec: IntegrationSpec,
        data: IntegrationInput,
        report: ImportReport,
    ) -> None:
        created = self._service.create_integration(
            tenant.id, data, integration_id=spec.id
        )
        view = created.integration
        self._apply_limits(view.id, spec.limits)
        report.changes.append(Change("integration", view.id, view.name, "created"))
        report.api_keys[view.id] = created.key.plaintext
        report.notices.extend(f"{spec.path}.{notice}" for notice in created.notices)
        self._apply_google(view.id, view.name, spec, report)

    def _apply_google(
        self,
        integration_id: str,
        name: str,
        spec: IntegrationSpec,
        report: ImportReport,
    ) -> None:
        """Set the integration's Google source, when the entry states one."""
        if spec.google_source is None:
            return

        sources = SourceService(self._service.store, self._service.keyring)
        action, fields = apply_google(
            sources, integration_id, spec.google_source, self._base_dir, self._environ
        )
        report.changes.append(Change(SECTION, integration_id, name, action, fields))

    def _apply_limits(
        self, integration_id: str, limits: dict[str, float | None] | None
    ) -> bool:
        """Set the integration's whole policy to ``limits``; return if it changed."""
        if limits is None:
            return False

        try:
            wanted = check_changes(DEFAULT_POLICY, limits)
        except SettingsError as error:
            raise SettingsError(
                [
                    FieldError(f"limits.{item.field}", item.message)
                    for item in error.errors
                ]
            ) from None
        if wanted == self._service.get_policy(integration_id):
            return False
        self._service.set_policy(integration_id, limits, reset=True)
        return True

    def _input(self, spec: IntegrationSpec) -> IntegrationInput:
        """Resolve an entry's secrets; raise ``SettingsError`` if one is missing."""
        errors: list[FieldError] = []
        token = resolve(spec.token, "token", self._base_dir, errors, self._environ)
        headers = None
        if spec.headers is not None:
            headers = [
                Header(
                    header.name,
                    resolve(
                        header.value,
                        f"headers[{position}].value",
                        self._base_dir,
                        errors,
                        self._environ,
                    ),
                    header.secret,
                )
                for position, header in enumerate(spec.headers, start=1)
            ]
        if errors:
            raise SettingsError(errors)
        return IntegrationInput(
            name=spec.name,
            scim_url=spec.scim_url,
            token=token,
            headers=headers,
            group_description=spec.group_description,
            force_group_description=spec.force_group_description,
            profile=spec.profile,
            disabled_rules=spec.disabled_rules,
            provider_auth=spec.provider_auth,
            adaptation=_whole_adaptation(spec.adaptation),
        )

    def _differences(
        self, existing: IntegrationView, data: IntegrationInput
    ) -> list[str]:
        """Return the fields whose normalised value differs from the stored one."""
        token, headers = self._service.read_secrets(existing.id)
        stored: dict[str, object] = {
            "name": existing.name,
            "scim_url": existing.scim_url,
            "token": token,
            "headers": _pairs(headers),
            "group_description": existing.group_description,
            "force_group_description": existing.force_group_description,
            "profile": existing.profile,
            "disabled_rules": sorted(existing.disabled_rules),
            "provider_auth": existing.provider_auth,
            "adaptation": asdict(Adaptation.from_dict(existing.adaptation)),
        }
        wanted = _normalised(data, existing.profile)
        return [name for name, value in wanted.items() if value != stored[name]]


def _normalised(data: IntegrationInput, profile: str) -> dict[str, object]:
    """Return the given settings as the service would store them.

    ``profile`` is the integration's stored profile, which disabled rules are
    checked against when the entry names no profile.
    """
    checked = Checked()
    wanted: dict[str, object] = {
        "name": validation.check_name(data.name or "", checked),
        "scim_url": validation.check_scim_url(data.scim_url or "", checked),
        "token": validation.check_token(data.token or "", checked),
    }
    if data.headers is not None:
        wanted["headers"] = _pairs(validation.check_headers(data.headers, checked))
    if data.group_description is not None:
        wanted["group_description"] = validation.check_group_description(
            data.group_description, checked
        )
    if data.force_group_description is not None:
        wanted["force_group_description"] = data.force_group_description
    wanted.update(_normalised_profile(data, profile, checked))
    checked.raise_if_rejected()

    return wanted


def _normalised_profile(
    data: IntegrationInput, profile: str, checked: Checked
) -> dict[str, object]:
    """Return the given profile and adaptation settings as the service stores them."""
    wanted: dict[str, object] = {}
    if data.profile is not None:
        profile = adapt_settings.check_profile(data.profile, checked)
        wanted["profile"] = profile
    if data.disabled_rules is not None:
        wanted["disabled_rules"] = adapt_settings.check_disabled_rules(
            data.disabled_rules, profile, checked
        )
    if data.provider_auth is not None:
        wanted["provider_auth"] = adapt_settings.check_provider_auth(
            data.provider_auth, checked
        )
    if data.adaptation is not None:
        adaptation = adapt_settings.check_adaptation(data.adaptation, checked)
        wanted["adaptation"] = asdict(Adaptation.from_dict(adaptation))
    return wanted


def _whole_adaptation(
    settings: dict[str, bool | int | None] | None,
) -> dict[str, object] | None:
    """Fill the settings an entry leaves out or sets to null with their defaults."""
    if settings is None:
        return None

    explicit = {name: value for name, value in settings.items() if value is not None}
    return {**asdict(Adaptation()), **explicit}


def _pairs(headers: list[Header]) -> list[tuple[str, str, bool]]:
    return [(header.name, header.value, header.secret) for header in headers]


def _only(data: IntegrationInput, fields: list[str]) -> IntegrationInput:
    """Return an input that sets only ``fields`` and leaves the rest unchanged."""
    return IntegrationInput(**{name: getattr(data, name) for name in fields})


def _find_tenant(tenants: list[TenantView], spec: TenantSpec) -> TenantView | None:
    if spec.id is not None:
        return next((tenant for tenant in tenants if tenant.id == spec.id), None)

    named = [tenant for tenant in tenants if tenant.name == spec.name.strip()]
    if len(named) > 1:
        raise SettingsError.single(
            "name",
            f"{len(named)} tenants are named {spec.name!r}: add the id of the "
            "one meant",
        )
    return named[0] if named else None


def _find_integration(
    service: IntegrationService, tenant: TenantView, spec: IntegrationSpec
) -> IntegrationView | None:
    if spec.id is not None:
        try:
            found = service.get_integration(spec.id)
        except NotFoundError:
            return None
        if found.tenant_id != tenant.id:
            raise SettingsError.single(
                "id",
                f"integration {spec.id} belongs to tenant {found.tenant_id}: move "
                "the entry under that tenant or remove its id",
            )
        return found

    named = [
        item
        for item in service.list_integrations(tenant.id)
        if item.name == spec.name.strip()
    ]
    if len(named) > 1:
        raise SettingsError.single(
            "name",
            f"{len(named)} integrations are named {spec.name!r}: add the id of "
            "the one meant",
        )
    return named[0] if named else None


def _at(path: str, error: SettingsError | NotFoundError) -> list[FieldError]:
    """Prefix each field of an error with the entry's path in the document."""
    if isinstance(error, NotFoundError):
        return [FieldError(path, str(error))]
    return [
        FieldError(f"{path}.{_document_field(item.field)}", item.message)
        for item in error.errors
    ]


def _document_field(name: str) -> str:
    """Name a field as the document does, adaptation settings under ``adaptation``."""
    return f"adaptation.{name}" if name in ADAPTATION_KEYS else name
