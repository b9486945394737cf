"""Every admin action of the console and the API, with access checks and audit.

The integration service contains the rules for settings; this layer adds who may
do what (see :mod:`scimrelay.admin.access`) and records the audit trail.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from scimrelay.admin.access import Actor
from scimrelay.admin.accounts import AccountService, AdminView
from scimrelay.admin.audit import AuditLog, AuditView
from scimrelay.admin.sources import SourceOperations
from scimrelay.admin.tokens import IssuedToken, TokenStore, TokenView
from scimrelay.context import AppContext
from scimrelay.diagnostics import ConnectionReport, Guard, test_connection
from scimrelay.errors import NotFoundError
from scimrelay.integrations.keys import IssuedKey
from scimrelay.integrations.service import (
    Change,
    Created,
    IntegrationInput,
    IntegrationView,
    TenantView,
)
from scimrelay.integrations.validation import Header
from scimrelay.requestlog import query
from scimrelay.requestlog.query import Bucket, LogFilter, Page, Stats
from scimrelay.store.models import RequestLogEntry

if TYPE_CHECKING:
    from scimrelay.sync.scheduler import SyncScheduler

EXPORT_BATCH = 500


@dataclass(frozen=True)
class HeaderRow:
    """A header row of a form; a None value keeps the stored value of ``kept``."""

    name: str
    value: str | None
    kept: str | None = None
    secret: bool = False


@dataclass
class Admin:
    """The services an admin front end needs, opened once per process."""

    context: AppContext
    accounts: AccountService
    tokens: TokenStore
    audit: AuditLog
    # The relay's sync scheduler, which previews and starts runs; None in the CLI.
    scheduler: SyncScheduler | None = None

    @classmethod
    def open(cls, context: AppContext, scheduler: SyncScheduler | None = None) -> Admin:
        store = context.store
        return cls(
            context,
            AccountService(store),
            TokenStore(store),
            AuditLog(store),
            scheduler,
        )

    def acting(self, actor: Actor) -> AdminOperations:
        return AdminOperations(self, actor)


def _filled(row: HeaderRow, stored: dict[str, str]) -> Header:
    if row.value is not None:
        return Header(row.name, row.value, row.secret)
    return Header(row.name, stored.get((row.kept or row.name).lower(), ""), row.secret)


class AdminOperations:
    """The actions of one admin, each checked against their role."""

    def __init__(self, admin: Admin, actor: Actor) -> None:
        self.admin = admin
        self.actor = actor
        self.service = admin.context.service
        self.store = admin.context.store
        self._hook = admin.audit.hook(actor)

    @cached_property
    def sources(self) -> SourceOperations:
        """The actions on integrations' Google sources and sync runs."""
        return SourceOperations(self)

    # Tenants

    def tenants(self) -> list[TenantView]:
        return [t for t in self.service.list_tenants() if self.actor.can_see(t.id)]

    def tenant(self, tenant_id: str) -> TenantView:
        for tenant in self.tenants():
            if tenant.id == tenant_id:
                return tenant
        raise NotFoundError(f"tenant {tenant_id} not found")

    def create_tenant(self, name: str) -> TenantView:
        self.actor.require_owner()
        return self.service.create_tenant(name, audit=self._hook)

    def delete_tenant(self, tenant_id: str) -> None:
        self.actor.require_owner()
        self.service.delete_tenant(tenant_id, audit=self._hook)

    # Integrations

    def integrations(self, tenant_id: str | None = None) -> list[IntegrationView]:
        if tenant_id is not None:
            self.actor.require_tenant(tenant_id, f"tenant {tenant_id}")
        views = self.service.list_integrations(tenant_id)
        return [view for view in views if self.actor.can_see(view.tenant_id)]

    def integration(self, integration_id: str) -> IntegrationView:
        view = self.service.get_integration(integration_id)
        self.actor.require_tenant(view.tenant_id, f"integration {integration_id}")
        return view

    def create_integration(self, tenant_id: str, data: IntegrationInput) -> Created:
        self.actor.require_tenant(tenant_id, f"tenant {tenant_id}")
        return self.service.create_integration(tenant_id, data, audit=self._hook)

    def update_integration(
        self, integration_id: str, data: IntegrationInput
    ) -> tuple[IntegrationView, list[str]]:
        self.integration(integration_id)
        return self.service.update_integration(integration_id, data, audit=self._hook)

    def delete_integration(self, integration_id: str) -> None:
        self.integration(integration_id)
        self.service.delete_integration(integration_id, audit=self._hook)

    def rotate_key(self, integration_id: str, revoke_previous: bool) -> IssuedKey:
        self.integration(integration_id)
        return self.service.rotate_key(
            integration_id, revoke_previous=revoke_previous, audit=self._hook
        )

    def revoke_key(self, integration_id: str, key_id: str) -> None:
        self.integration(integration_id)
        self.service.revoke_key(integration_id, key_id, audit=self._hook)

    def form_headers(self, integration_id: str) -> list[Header]:
        """Return an integration's headers for its edit form."""
        self.integration(integration_id)
        return self.service.read_secrets(integration_id)[1]

    def fill_headers(
        self, integration_id: str | None, rows: list[HeaderRow]
    ) -> list[Header]:
        """Resolve rows that keep a stored value, so only typed values change."""
        stored: dict[str, str] = {}
        if integration_id and any(row.value is None for row in rows):
            headers = self.form_headers(integration_id)
            stored = {header.name.lower(): header.value for header in headers}
        return [_filled(row, stored) for row in rows]

    # Test connection

    async def test_integration(self, integration_id: str) -> ConnectionReport:
        view = self.integration(integration_id)
        token, headers = self.service.read_secrets(integration_id)
        report = await test_connection(
            view.scim_url, token, headers, guard=self._guard()
        )
        self._record_test(view.id, view.name, view.tenant_id, report, saved=True)
        return report

    async def test_settings(
        self,
        tenant_id: str | None,
        integration_id: str | None,
        scim_url: str,
        token: str | None,
        headers: list[Header],
    ) -> tuple[ConnectionReport, list[str]]:
        """Test settings that are not saved yet; a None token means the stored one."""
        view = self.integration(integration_id) if integration_id else None
        tenant_id = view.tenant_id if view else tenant_id
        self.actor.require_tenant(tenant_id, f"tenant {tenant_id}")
        if token is None and view is not None:
            token = self.service.read_secrets(view.id)[0]
        url, token, checked_headers, notices = self.service.check_connection_settings(
            scim_url, token or "", headers
        )
        report = await test_connection(url, token, checked_headers, guard=self._guard())
        name = view.name if view else "new integration (not saved)"
        self._record_test(
            view.id if view else None, name, tenant_id, report, saved=False
        )
        return report, notices

    def _guard(self) -> Guard:
        return Guard(allow_private=self.service.allow_private_downstreams)

    def _record_test(
        self,
        integration_id: str | None,
        name: str | None,
        tenant_id: str | None,
        report: ConnectionReport,
        *,
        saved: bool,
    ) -> None:
        detail = {"result": report.code, "ok": report.ok, "saved_settings": saved}
        change = Change(
            "integration.test",
            "integration",
            integration_id or "",
            name,
            tenant_id,
            detail,
        )
        self.admin.audit.record(self.actor, change)

    # Request log

    def log_filter(self, **values: object) -> LogFilter:
        where = LogFilter(tenant_ids=self.actor.visible_tenants(), **values)  # type: ignore[arg-type]
        if where.integration_id:
            self.integration(where.integration_id)
        return where

    def log_page(self, where: LogFilter, page: int, per_page: int) -> Page:
        with self.store.session() as session:
            return query.search(session, where, page, per_page)

    def log_entry(self, entry_id: int) -> RequestLogEntry:
        where = LogFilter(tenant_ids=self.actor.visible_tenants())
        entry = None
        if 0 <= entry_id <= query.MAX_ID:
            with self.store.session() as session:
                entry = query.get_entry(session, entry_id, where)
        if entry is None:
            raise NotFoundError(f"request log entry {entry_id} not found")
        return entry

    def export(self, where: LogFilter, limit: int) -> Iterator[dict[str, object]]:
        """Yield matching entries newest first, reading a batch per session."""
        before_id: int | None = None
        while limit > 0:
            with self.store.session() as session:
                rows = query.batch(session, where, before_id, min(EXPORT_BATCH, limit))
            if not rows:
                return
            yield from rows
            before_id = int(rows[-1]["id"])
            limit -= len(rows)

    def stats(self, views: list[IntegrationView]) -> dict[str, Stats]:
        since = datetime.now(UTC) - timedelta(hours=24)
        with self.store.session() as session:
            return query.integration_stats(session, [view.id for view in views], since)

    def activity(self, integration_id: str, hours: int) -> list[Bucket]:
        self.integration(integration_id)
        with self.store.session() as session:
            return query.hourly_activity(session, integration_id, hours)

    # Audit trail, admins and tokens

    def audit_events(self, limit: int, offset: int) -> tuple[list[AuditView], int]:
        return self.admin.audit.list(self.actor, limit=limit, offset=offset)

    def admins(self) -> list[AdminView]:
        self.actor.require_owner()
        return self.admin.accounts.list_admins()

    def create_admin(
        self, email: str, password: str, role: str, tenant_id: str | None
    ) -> AdminView:
        self.actor.require_owner()
        view = self.admin.accounts.create_admin(email, password, role, tenant_id)
        detail = {"role": role}
        self._record(
            Change("admin.create", "admin", view.id, view.email, tenant_id, detail)
        )
        return view

    def delete_admin(self, user_id: str) -> None:
        self.actor.require_owner()
        view = self.admin.accounts.delete_admin(user_id)
        self._record(
            Change("admin.delete", "admin", view.id, view.email, view.tenant_id)
        )

    def tokens(self) -> list[TokenView]:
        return self.admin.tokens.list(self._user_id())

    def create_token(self, name: str) -> IssuedToken:
        issued = self.admin.tokens.issue(self._user_id(), name)
        view = issued.view
        self._record(Change("token.create", "admin_token", view.id, view.name, None))
        return issued

    def revoke_token(self, token_id: str) -> None:
        view = self.admin.tokens.revoke(self._user_id(), token_id)
        self._record(Change("token.revoke", "admin_token", view.id, view.name, None))

    def _user_id(self) -> str:
        if self.actor.user_id is None:
            raise NotFoundError("admin tokens belong to admin accounts")
        return self.actor.user_id

    def _record(self, change: Change) -> None:
        self.admin.audit.record(self.actor, change)
