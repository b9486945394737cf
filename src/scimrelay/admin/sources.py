"""An integration's Google source and sync runs, for the console and the API.

Each action first looks the integration up through
:meth:`AdminOperations.integration`, so a tenant admin gets "not found" for
another tenant's source and runs. Setting and removing a source and starting
a run are recorded in the audit trail; the key's value never is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio.from_thread

from scimrelay.errors import FieldError, NotFoundError, SettingsError
from scimrelay.integrations.service import Change, IntegrationView
from scimrelay.sync.plan import Plan
from scimrelay.sync.runs import RunReport
from scimrelay.sync.service import GoogleSourceInput, GoogleSourceView, SourceService

if TYPE_CHECKING:
    from scimrelay.admin.operations import AdminOperations
    from scimrelay.sync.scheduler import SyncScheduler

# The service names the key "key_file", after the CLI option.
SERVICE_KEY_FIELD = "key_file"
# Fields of a source's view that an audit entry names when they change.
AUDITED_FIELDS = (
    "client_email",
    "key_id",
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
)


class SourceOperations:
    """Google source and sync actions of one admin."""

    def __init__(self, ops: AdminOperations) -> None:
        self.ops = ops
        context = ops.admin.context
        self.service = SourceService(context.store, context.keyring)

    def google(self, integration_id: str) -> GoogleSourceView | None:
        """Return the integration's Google source, or None when it has none."""
        self.ops.integration(integration_id)
        try:
            return self.service.get_google(integration_id)
        except NotFoundError:
            return None

    def set_google(
        self, integration_id: str, data: GoogleSourceInput, key_field: str
    ) -> GoogleSourceView:
        """Create or replace the source; errors about the key name ``key_field``."""
        view = self.ops.integration(integration_id)
        before = self.google(integration_id)
        try:
            source = self.service.set_google(integration_id, data)
        except SettingsError as error:
            raise _renamed_key_errors(error, key_field) from None
        changed = _changed_fields(before, source)
        if data.key_json:
            changed = sorted({*changed, "key"})
        action = "source.create" if before is None else "source.update"
        self._audit(action, view, {"source": "google", "changed": changed})
        return source

    def remove_google(self, integration_id: str) -> None:
        view = self.ops.integration(integration_id)
        self.service.remove_google(integration_id)
        self._audit("source.remove", view, {"source": "google"})

    def preview(self, integration_id: str) -> Plan:
        """Return every change a run would make now; nothing is sent."""
        self.ops.integration(integration_id)
        scheduler = self._scheduler()
        return anyio.from_thread.run(scheduler.preview, integration_id)

    def start_run(self, integration_id: str, trigger: str) -> RunReport:
        """Start a run in the relay's background; return it while it runs."""
        view = self.ops.integration(integration_id)
        scheduler = self._scheduler()
        report = anyio.from_thread.run(scheduler.start_now, integration_id, trigger)
        self._audit("sync.run", view, {"source": "google", "run_id": report.id})
        return report

    def runs(self, integration_id: str, limit: int) -> list[RunReport]:
        self.ops.integration(integration_id)
        return self.service.runs(integration_id, limit)

    def run(self, integration_id: str, run_id: str) -> RunReport:
        self.ops.integration(integration_id)
        return self.service.run(integration_id, run_id)

    def _scheduler(self) -> SyncScheduler:
        scheduler = self.ops.admin.scheduler
        if scheduler is None:
            raise NotFoundError(
                "this process runs no syncs: use `scimrelay sync run` instead"
            )
        return scheduler

    def _audit(
        self, action: str, view: IntegrationView, detail: dict[str, Any]
    ) -> None:
        change = Change(
            action, "integration", view.id, view.name, view.tenant_id, detail
        )
        self.ops.admin.audit.record(self.ops.actor, change)


def _changed_fields(
    before: GoogleSourceView | None, after: GoogleSourceView
) -> list[str]:
    if before is None:
        return []
    old, new = before.to_dict(), after.to_dict()
    return [name for name in AUDITED_FIELDS if old[name] != new[name]]


def _renamed_key_errors(error: SettingsError, key_field: str) -> SettingsError:
    """Name the key field as the front end does, with a fix that fits it."""
    errors = []
    for item in error.errors:
        if item.field != SERVICE_KEY_FIELD:
            errors.append(item)
        elif "--key-file" in item.message:
            message = (
                "is required when the source is first set: give the service "
                "account's JSON key"
            )
            errors.append(FieldError(key_field, message))
        else:
            errors.append(FieldError(key_field, item.message))
    return SettingsError(errors)
