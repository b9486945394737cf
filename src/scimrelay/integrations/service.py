"""The service layer for tenants, integrations and their API keys."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from scimrelay.adapt import settings as adapt_settings
from scimrelay.adapt.profiles import DEFAULT_PROFILE
from scimrelay.errors import NotFoundError
from scimrelay.integrations import validation
from scimrelay.integrations.keys import IssuedKey, issue_key
from scimrelay.integrations.validation import Checked, Header
from scimrelay.ops.notify import announce_change
from scimrelay.relay import netguard
from scimrelay.resilience import policies
from scimrelay.resilience.policy import DEFAULT_POLICY, Policy, check_changes
from scimrelay.store.crypto import Keyring
from scimrelay.store.database import Store
from scimrelay.store.models import ApiKey, Integration, StoreState, Tenant

SCIM_BASE_PATH = "/scim/v2/{integration_id}"


@dataclass
class IntegrationInput:
    """Settings given by an operator; ``None`` leaves a field unchanged."""

    name: str | None = None
    scim_url: str | None = None
    token: str | None = field(default=None, repr=False)
    headers: list[Header] | None = None
    group_description: str | None = None
    force_group_description: bool | None = None
    profile: str | None = None
    disabled_rules: list[str] | None = None
    provider_auth: str | None = None
    adaptation: dict[str, Any] | None = None


@dataclass(frozen=True)
class Change:
    """A change made through the service, as an audit trail records it."""

    action: str
    target_type: str
    target_id: str
    target_name: str | None
    tenant_id: str | None
    detail: dict[str, Any] = field(default_factory=dict)


# Called inside the changing transaction, so a record and its change commit
# together or not at all.
AuditHook = Callable[[Session, Change], None]


@dataclass(frozen=True)
class KeyView:
    id: str
    created_at: datetime
    revoked_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


@dataclass(frozen=True)
class IntegrationView:
    """An integration as shown to operators: never the token or header values."""

    id: str
    tenant_id: str
    name: str
    scim_url: str
    header_names: list[str]
    group_description: str
    force_group_description: bool
    created_at: datetime
    updated_at: datetime
    keys: list[KeyView]
    profile: str = "generic"
    disabled_rules: list[str] = field(default_factory=list)
    provider_auth: str = "bearer"
    adaptation: dict[str, Any] = field(default_factory=dict)
    capabilities_read_at: float | None = None

    @property
    def scim_base_path(self) -> str:
        return SCIM_BASE_PATH.format(integration_id=self.id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tenant_id": self.tenant_id,
            "name": self.name,
            "scim_url": self.scim_url,
            "scim_base_path": self.scim_base_path,
            "header_names": self.header_names,
            "group_description": self.group_description,
            "force_group_description": self.force_group_description,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "keys": [key.to_dict() for key in self.keys],
            "profile": self.profile,
            "disabled_rules": self.disabled_rules,
            "provider_auth": self.provider_auth,
            "adaptation": self.adaptation,
            "capabilities_read_at": self.capabilities_read_at,
        }


@dataclass(frozen=True)
class TenantView:
    id: str
    name: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class Created:
    integration: IntegrationView
    key: IssuedKey
    notices: list[str]


def _now() -> datetime:
    return datetime.now(UTC)


class IntegrationService:
    """Create, change and read tenants and integrations, enforcing every rule."""

    def __init__(
        self, store: Store, keyring: Keyring, *, allow_private_downstreams: bool = False
    ) -> None:
        self.store = store
        self.keyring = keyring
        self.allow_private_downstreams = allow_private_downstreams

    # Tenants

    def create_tenant(
        self,
        name: str,
        *,
        tenant_id: str | None = None,
        audit: AuditHook | None = None,
    ) -> TenantView:
        """Create a tenant, under ``tenant_id`` if given (to restore an export)."""
        checked = Checked()
        name = validation.check_name(name, checked)
        tenant_id = _check_new_id(tenant_id, checked)
        checked.raise_if_rejected()

        tenant = Tenant(id=tenant_id, name=name, created_at=_now())
        with self.store.session() as session:
            session.add(tenant)
            _bump_version(session)
            _notify(
                audit,
                session,
                Change("tenant.create", "tenant", tenant.id, name, tenant.id),
            )
        return _tenant_view(tenant)

    def list_tenants(self) -> list[TenantView]:
        with self.store.session() as session:
            tenants = session.scalars(select(Tenant).order_by(Tenant.created_at))
            return [_tenant_view(tenant) for tenant in tenants]

    def rename_tenant(self, tenant_id: str, name: str) -> TenantView:
        checked = Checked()
        name = validation.check_name(name, checked)
        checked.raise_if_rejected()

        with self.store.session() as session:
            tenant = _get_tenant(session, tenant_id)
            tenant.name = name
            _bump_version(session)
            return _tenant_view(tenant)

    def delete_tenant(self, tenant_id: str, *, audit: AuditHook | None = None) -> None:
        with self.store.session() as session:
            tenant = _get_tenant(session, tenant_id)
            session.delete(tenant)
            _bump_version(session)
            _notify(
                audit,
                session,
                Change("tenant.delete", "tenant", tenant_id, tenant.name, tenant_id),
            )

    # Integrations

    def create_integration(
        self,
        tenant_id: str,
        data: IntegrationInput,
        *,
        integration_id: str | None = None,
        audit: AuditHook | None = None,
    ) -> Created:
        """Create an integration, under ``integration_id`` if given."""
        checked = Checked()
        integration_id = _check_new_id(integration_id, checked)
        name = validation.check_name(data.name or "", checked)
        scim_url = validation.check_scim_url(data.scim_url or "", checked)
        self._check_address(scim_url, checked)
        token = validation.check_token(data.token or "", checked)
        headers = validation.check_headers(data.headers or [], checked)
        template = validation.check_group_description(data.group_description, checked)
        adaptation = _adaptation_changes(data, checked, DEFAULT_PROFILE)
        checked.raise_if_rejected()

        now = _now()
        key = issue_key()
        with self.store.session() as session:
            _get_tenant(session, tenant_id)
            integration = Integration(
                id=integration_id,
                tenant_id=tenant_id,
                name=name,
                scim_url=scim_url,
                token_ciphertext=self.keyring.encrypt(token.encode()),
                headers_ciphertext=self._encrypt_headers(headers),
                header_names=[header.name for header in headers],
                group_description=template,
                force_group_description=bool(data.force_group_description),
                created_at=now,
                updated_at=now,
                **adaptation,
            )
            integration.api_keys.append(
                ApiKey(id=key.key_id, secret_hash=key.secret_hash, created_at=now)
            )
            session.add(integration)
            _bump_version(session)
            _notify(
                audit,
                session,
                _integration_change(
                    "integration.create", integration, {"key_id": key.key_id}
                ),
            )
            return Created(_integration_view(integration), key, checked.notices)

    def update_integration(
        self,
        integration_id: str,
        data: IntegrationInput,
        *,
        audit: AuditHook | None = None,
    ) -> tuple[IntegrationView, list[str]]:
        checked = Checked()
        changes: dict[str, Any] = {}
        if data.name is not None:
            changes["name"] = validation.check_name(data.name, checked)
        if data.scim_url is not None:
            changes["scim_url"] = validation.check_scim_url(data.scim_url, checked)
            self._check_address(changes["scim_url"], checked)
        if data.token is not None:
            token = validation.check_token(data.token, checked)
            changes["token_ciphertext"] = self.keyring.encrypt(token.encode())
        if data.headers is not None:
            headers = validation.check_headers(data.headers, checked)
            changes["headers_ciphertext"] = self._encrypt_headers(headers)
            changes["header_names"] = [header.name for header in headers]
        if data.group_description is not None:
            changes["group_description"] = validation.check_group_description(
                data.group_description, checked
            )
        if data.force_group_description is not None:
            changes["force_group_description"] = data.force_group_description
        stored_profile = None
        if data.disabled_rules is not None and data.profile is None:
            stored_profile = self.get_integration(integration_id).profile
        changes.update(_adaptation_changes(data, checked, stored_profile))
        checked.raise_if_rejected()

        with self.store.session() as session:
            integration = _get_integration(session, integration_id)
            if "profile" in changes and "disabled_rules" not in changes:
                changes["disabled_rules"] = adapt_settings.rules_of(
                    changes["profile"], list(integration.disabled_rules or [])
                )
            if "adaptation" in changes:
                changes["adaptation"] = {
                    **(integration.adaptation or {}),
                    **changes["adaptation"],
                }
            for name, value in changes.items():
                setattr(integration, name, value)
            integration.updated_at = _now()
            _bump_version(session)
            changed = {"changed": _changed_fields(data)}
            _notify(
                audit,
                session,
                _integration_change("integration.update", integration, changed),
            )
            return _integration_view(integration), checked.notices

    def delete_integration(
        self, integration_id: str, *, audit: AuditHook | None = None
    ) -> None:
        with self.store.session() as session:
            integration = _get_integration(session, integration_id)
            session.delete(integration)
            _bump_version(session)
            _notify(
                audit, session, _integration_change("integration.delete", integration)
            )

    def get_integration(self, integration_id: str) -> IntegrationView:
        with self.store.session() as session:
            return _integration_view(_get_integration(session, integration_id))

    def list_integrations(self, tenant_id: str | None = None) -> list[IntegrationView]:
        query = select(Integration).order_by(Integration.created_at)
        if tenant_id is not None:
            query = query.where(Integration.tenant_id == tenant_id)
        with self.store.session() as session:
            return [_integration_view(item) for item in session.scalars(query)]

    def store_capabilities(
        self, integration_id: str, capabilities: dict[str, Any]
    ) -> None:
        """Keep a reading of the downstream's discovery endpoints for every relay."""
        with self.store.session() as session:
            integration = _get_integration(session, integration_id)
            integration.capabilities = capabilities
            _bump_version(session)

    def read_secrets(self, integration_id: str) -> tuple[str, list[Header]]:
        """Decrypt an integration's token and custom headers."""
        with self.store.session() as session:
            integration = _get_integration(session, integration_id)
            return self.decrypt_secrets(integration)

    def decrypt_secrets(self, integration: Integration) -> tuple[str, list[Header]]:
        token = self.keyring.decrypt(integration.token_ciphertext).decode()
        rows = orjson.loads(self.keyring.decrypt(integration.headers_ciphertext))
        return token, [
            Header(row["name"], row["value"], bool(row.get("secret"))) for row in rows
        ]

    def describe_headers(self, integration_id: str) -> list[dict[str, Any]]:
        """List custom headers for operators, secret values masked."""
        return [header.shown() for header in self.read_secrets(integration_id)[1]]

    # Limits

    def get_policy(self, integration_id: str) -> Policy:
        with self.store.session() as session:
            _get_integration(session, integration_id)
            return policies.load(session, integration_id)

    def set_policy(
        self, integration_id: str, changes: dict[str, Any], *, reset: bool = False
    ) -> Policy:
        """Change an integration's limits; ``reset`` restores the defaults first."""
        with self.store.session() as session:
            _get_integration(session, integration_id)
            current = (
                DEFAULT_POLICY if reset else policies.load(session, integration_id)
            )
            policy = check_changes(current, changes)
            policies.save(session, integration_id, policy, _now())
            _bump_version(session)
            return policy

    # API keys

    def rotate_key(
        self,
        integration_id: str,
        *,
        revoke_previous: bool = False,
        audit: AuditHook | None = None,
    ) -> IssuedKey:
        """Issue a new API key; earlier keys keep working until revoked."""
        key = issue_key()
        now = _now()
        with self.store.session() as session:
            integration = _get_integration(session, integration_id)
            if revoke_previous:
                for previous in integration.api_keys:
                    previous.revoked_at = previous.revoked_at or now
            integration.api_keys.append(
                ApiKey(id=key.key_id, secret_hash=key.secret_hash, created_at=now)
            )
            _bump_version(session)
            detail = {"key_id": key.key_id, "revoke_previous": revoke_previous}
            _notify(
                audit, session, _integration_change("key.rotate", integration, detail)
            )
        return key

    def revoke_key(
        self, integration_id: str, key_id: str, *, audit: AuditHook | None = None
    ) -> None:
        with self.store.session() as session:
            key = session.get(ApiKey, key_id)
            if key is None or key.integration_id != integration_id:
                raise NotFoundError(
                    f"API key {key_id} not found on integration {integration_id}: "
                    "list its keys with `scimrelay integration show`"
                )
            key.revoked_at = key.revoked_at or _now()
            _bump_version(session)
            detail = {"key_id": key_id}
            _notify(
                audit,
                session,
                _integration_change("key.revoke", key.integration, detail),
            )

    def check_connection_settings(
        self, scim_url: str, token: str, headers: list[Header]
    ) -> tuple[str, str, list[Header], list[str]]:
        """Check settings about to be tested, before or without saving them.

        Returns the normalised URL, token and headers, and the notices.
        """
        checked = Checked()
        url = validation.check_scim_url(scim_url, checked)
        self._check_address(url, checked)
        token = validation.check_token(token, checked)
        checked_headers = validation.check_headers(headers, checked)
        checked.raise_if_rejected()
        return url, token, checked_headers, checked.notices

    # Helpers

    def _check_address(self, scim_url: str, checked: Checked) -> None:
        """Refuse a downstream on a private or metadata address (SSRF)."""
        if self.allow_private_downstreams or checked.errors:
            return
        host = urlsplit(scim_url).hostname or ""
        reason = netguard.url_reason(host)
        if reason is not None:
            checked.reject(
                "scim_url",
                f"{host} is not allowed because {reason}: use the application's "
                "public SCIM URL, or set SCIMRELAY_ALLOW_PRIVATE_DOWNSTREAMS=true "
                "for a downstream on your own network",
            )

    def _encrypt_headers(self, headers: Iterable[Header]) -> bytes:
        rows = [
            {"name": header.name, "value": header.value, "secret": header.secret}
            for header in headers
        ]
        return self.keyring.encrypt(orjson.dumps(rows))


def _notify(audit: AuditHook | None, session: Session, change: Change) -> None:
    if audit is not None:
        session.flush()
        audit(session, change)


def _integration_change(
    action: str, integration: Integration, detail: dict[str, Any] | None = None
) -> Change:
    return Change(
        action,
        "integration",
        integration.id,
        integration.name,
        integration.tenant_id,
        detail or {},
    )


def _changed_fields(data: IntegrationInput) -> list[str]:
    """Name the fields an update sets, never their values."""
    names = (
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
    )
    return [name for name in names if getattr(data, name, None) is not None]


def _adaptation_changes(
    data: IntegrationInput, checked: Checked, profile: str | None
) -> dict[str, Any]:
    """Check the profile, rule and adaptation settings that were given.

    Disabled rules are checked against the profile given, or else ``profile``,
    the integration's current one.
    """
    changes: dict[str, Any] = {}
    if data.profile is not None:
        changes["profile"] = adapt_settings.check_profile(data.profile, checked)
    if data.disabled_rules is not None:
        changes["disabled_rules"] = adapt_settings.check_disabled_rules(
            data.disabled_rules, changes.get("profile", profile or ""), checked
        )
    if data.provider_auth is not None:
        changes["provider_auth"] = adapt_settings.check_provider_auth(
            data.provider_auth, checked
        )
    if data.adaptation is not None:
        changes["adaptation"] = adapt_settings.check_adaptation(
            data.adaptation, checked
        )
    return changes


def config_version(session: Session) -> int:
    state = session.get(StoreState, 1)
    return state.config_version if state else 0


def _bump_version(session: Session) -> None:
    """Mark the configuration changed, so every relay process reloads it."""
    session.flush()
    session.execute(
        update(StoreState)
        .where(StoreState.id == 1)
        .values(config_version=StoreState.config_version + 1)
    )
    announce_change(session)


def _check_new_id(value: str | None, checked: Checked) -> str:
    """Return ``value`` as a canonical UUID, or a new UUID when it is None."""
    if value is None:
        return str(uuid.uuid4())

    try:
        return str(uuid.UUID(value))
    except ValueError:
        checked.reject(
            "id", f"{value!r} is not a UUID: give one such as {uuid.uuid4()}"
        )
        return value


def _get_tenant(session: Session, tenant_id: str) -> Tenant:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFoundError(
            f"tenant {tenant_id} not found: list tenants with `scimrelay tenant list` "
            "or GET /api/v1/tenants"
        )
    return tenant


def _get_integration(session: Session, integration_id: str) -> Integration:
    integration = session.get(Integration, integration_id)
    if integration is None:
        raise NotFoundError(
            f"integration {integration_id} not found: list integrations with "
            "`scimrelay integration list`"
        )
    return integration


def _tenant_view(tenant: Tenant) -> TenantView:
    return TenantView(tenant.id, tenant.name, tenant.created_at)


def _integration_view(integration: Integration) -> IntegrationView:
    keys = sorted(integration.api_keys, key=lambda key: key.created_at)
    return IntegrationView(
        id=integration.id,
        tenant_id=integration.tenant_id,
        name=integration.name,
        scim_url=integration.scim_url,
        header_names=list(integration.header_names),
        group_description=integration.group_description,
        force_group_description=integration.force_group_description,
        created_at=integration.created_at,
        updated_at=integration.updated_at,
        keys=[KeyView(key.id, key.created_at, key.revoked_at) for key in keys],
        profile=integration.profile or "generic",
        disabled_rules=list(integration.disabled_rules or []),
        provider_auth=integration.provider_auth or "bearer",
        adaptation=dict(integration.adaptation or {}),
        capabilities_read_at=(integration.capabilities or {}).get("fetched_at"),
    )
