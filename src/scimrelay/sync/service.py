"""The service layer for Google sources and sync runs, shared by every front end."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from scimrelay.errors import NotFoundError, SettingsError
from scimrelay.integrations.validation import Checked
from scimrelay.store.crypto import Keyring
from scimrelay.store.database import Store
from scimrelay.store.models import Integration
from scimrelay.sync import validation
from scimrelay.sync.google import GoogleSourceConfig
from scimrelay.sync.mapping import check_mapping, effective_mapping
from scimrelay.sync.models import GoogleSource, SyncLink, SyncRun
from scimrelay.sync.runs import RunReport, get_run, list_runs

DEFAULT_INTERVAL_MINUTES = 60


@dataclass
class GoogleSourceInput:
    """A Google source's settings as an operator gives them.

    ``key_json`` may be left out when the source exists: its key is kept.
    """

    subject: str
    customer: str | None = None
    domain: str | None = None
    key_json: str | None = field(default=None, repr=False)
    org_units: list[str] = field(default_factory=list)
    group_patterns: list[str] = field(default_factory=list)
    sync_groups: bool = True
    delete_users: bool = False
    interval_minutes: int = DEFAULT_INTERVAL_MINUTES
    api_url: str | None = None
    mapping: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class GoogleSourceView:
    """A Google source as shown to operators: never the private key."""

    integration_id: str
    client_email: str
    client_id: str
    key_id: str
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
    effective_mapping: dict[str, str]
    scopes: list[str]
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        data["updated_at"] = self.updated_at.isoformat()
        return data


class SourceService:
    """Set, read and remove Google sources; read their runs."""

    def __init__(self, store: Store, keyring: Keyring) -> None:
        self.store = store
        self.keyring = keyring

    def set_google(
        self, integration_id: str, data: GoogleSourceInput
    ) -> GoogleSourceView:
        """Create or replace an integration's Google source, checking every field."""
        values, key = _checked_values(data)
        now = datetime.now(UTC)
        with self.store.session() as session:
            _get_integration(session, integration_id)
            source = session.get(GoogleSource, integration_id)
            if source is None and key is None:
                _missing_key()
            if source is None:
                source = GoogleSource(integration_id=integration_id, created_at=now)
                session.add(source)
            if key is not None:
                source.key_ciphertext = self.keyring.encrypt(orjson.dumps(key))
                source.client_email = key["client_email"]
                source.client_id = key["client_id"]
            for name, value in values.items():
                setattr(source, name, value)
            source.updated_at = now
            session.flush()
            return self._view(source)

    def differences(
        self, integration_id: str, data: GoogleSourceInput
    ) -> list[str] | None:
        """Return the settings ``data`` would change, or None without a source.

        Values are checked and normalised as ``set_google`` would store them,
        so an unchanged setting written differently is not a difference.
        """
        values, key = _checked_values(data)
        with self.store.session() as session:
            _get_integration(session, integration_id)
            source = session.get(GoogleSource, integration_id)
            if source is None:
                return None
            changed = [
                name for name, value in values.items() if getattr(source, name) != value
            ]
            stored_key = orjson.loads(self.keyring.decrypt(source.key_ciphertext))
        if key is not None and key != stored_key:
            changed.append("key")
        return changed

    def get_google(self, integration_id: str) -> GoogleSourceView:
        with self.store.session() as session:
            return self._view(_get_source(session, integration_id))

    def remove_google(self, integration_id: str) -> None:
        """Remove the source and its links; the downstream is left as it is."""
        with self.store.session() as session:
            session.delete(_get_source(session, integration_id))
            session.execute(
                delete(SyncLink).where(SyncLink.integration_id == integration_id)
            )

    def config(self, integration_id: str) -> GoogleSourceConfig:
        """Return the source's settings with its key decrypted, for a run."""
        with self.store.session() as session:
            source = _get_source(session, integration_id)
            key = orjson.loads(self.keyring.decrypt(source.key_ciphertext))
            return _config(source, key)

    def due(self, now: datetime) -> list[str]:
        """List the integrations whose scheduled run is due."""
        latest = (
            select(SyncRun.integration_id, func.max(SyncRun.started_at).label("last"))
            .group_by(SyncRun.integration_id)
            .subquery()
        )
        query = (
            select(
                GoogleSource.integration_id,
                GoogleSource.interval_minutes,
                latest.c.last,
            )
            .outerjoin(latest, latest.c.integration_id == GoogleSource.integration_id)
            .where(GoogleSource.interval_minutes > 0)
        )
        with self.store.session() as session:
            rows = session.execute(query).all()
        return [
            integration_id
            for integration_id, minutes, last in rows
            if last is None or last + timedelta(minutes=minutes) <= now
        ]

    def runs(self, integration_id: str, limit: int = 20) -> list[RunReport]:
        """Return an integration's newest runs, newest first."""
        with self.store.session() as session:
            _get_integration(session, integration_id)
        return list_runs(self.store, integration_id, limit)

    def run(self, integration_id: str, run_id: str) -> RunReport:
        """Return one run; raise NotFoundError when the integration has no such run."""
        with self.store.session() as session:
            _get_integration(session, integration_id)
        report = get_run(self.store, integration_id, run_id)
        if report is None:
            raise NotFoundError(
                f"run {run_id} of integration {integration_id} not found: list "
                f"the runs with `scimrelay sync status {integration_id}`"
            )
        return report

    def _view(self, source: GoogleSource) -> GoogleSourceView:
        key = orjson.loads(self.keyring.decrypt(source.key_ciphertext))
        return GoogleSourceView(
            integration_id=source.integration_id,
            client_email=source.client_email,
            client_id=source.client_id,
            key_id=str(key.get("private_key_id") or ""),
            subject=source.subject,
            customer=source.customer,
            domain=source.domain,
            org_units=list(source.org_units),
            group_patterns=list(source.group_patterns),
            sync_groups=source.sync_groups,
            delete_users=source.delete_users,
            interval_minutes=source.interval_minutes,
            api_url=source.api_url,
            mapping=dict(source.mapping),
            effective_mapping=effective_mapping(source.mapping),
            scopes=_config(source, {}).scopes,
            created_at=source.created_at,
            updated_at=source.updated_at,
        )


def _checked_values(
    data: GoogleSourceInput,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Check every field; return the column values and the parsed key, if given."""
    checked = Checked()
    key = validation.check_key(data.key_json, checked) if data.key_json else None
    customer, domain = validation.check_scope(data.customer, data.domain, checked)
    values = {
        "subject": validation.check_subject(data.subject, checked),
        "customer": customer,
        "domain": domain,
        "org_units": validation.check_org_units(data.org_units, checked),
        "group_patterns": validation.check_group_patterns(data.group_patterns, checked),
        "sync_groups": data.sync_groups,
        "delete_users": data.delete_users,
        "interval_minutes": validation.check_interval(data.interval_minutes, checked),
        "api_url": validation.check_api_url(data.api_url, checked),
        "mapping": check_mapping(data.mapping, checked),
    }
    checked.raise_if_rejected()
    return values, key


def _missing_key() -> None:
    raise SettingsError.single(
        "key_file",
        "is required when the source is first set: pass the service account's "
        "JSON key with --key-file",
    )


def _config(source: GoogleSource, key_info: dict[str, Any]) -> GoogleSourceConfig:
    return GoogleSourceConfig(
        integration_id=source.integration_id,
        key_info=key_info,
        subject=source.subject,
        customer=source.customer,
        domain=source.domain,
        org_units=tuple(source.org_units),
        group_patterns=tuple(source.group_patterns),
        sync_groups=source.sync_groups,
        delete_users=source.delete_users,
        api_url=source.api_url,
        mapping=dict(source.mapping),
    )


def _get_integration(session: Session, integration_id: str) -> Integration:
    integration = session.get(Integration, integration_id)
    if integration is None:
        raise NotFoundError(
            f"integration {integration_id} not found: list integrations with "
            "`scimrelay integration list`"
        )
    return integration


def _get_source(session: Session, integration_id: str) -> GoogleSource:
    _get_integration(session, integration_id)
    source = session.get(GoogleSource, integration_id)
    if source is None:
        raise NotFoundError(
            f"integration {integration_id} has no Google source: set one with "
            f"`scimrelay source google set {integration_id} --key-file ...`"
        )
    return source
