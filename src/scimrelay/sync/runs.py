"""Run records: what each sync run did, kept in ``sync_runs``."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from scimrelay.store.database import Store
from scimrelay.sync.models import SyncRun

MAX_ERRORS = 100
USER_COUNTS = ("created", "updated", "deactivated", "deleted", "failed", "unchanged")
GROUP_COUNTS = (
    "created",
    "updated",
    "deleted",
    "failed",
    "unchanged",
    "members_added",
    "members_removed",
)
RUNNING = "running"
SUCCEEDED = "succeeded"
PARTIAL = "partial"
FAILED = "failed"
INTERRUPTED = "interrupted"


@dataclass
class RunReport:
    """A run's outcome: status, user and group counts, and the first errors."""

    id: str
    integration_id: str
    source: str
    trigger: str
    owner: str
    started_at: datetime
    status: str = RUNNING
    finished_at: datetime | None = None
    duration_ms: float | None = None
    users: Counter[str] = field(default_factory=Counter)
    groups: Counter[str] = field(default_factory=Counter)
    errors: list[dict[str, str]] = field(default_factory=list)
    detail: str | None = None

    @classmethod
    def begin(
        cls, integration_id: str, source: str, trigger: str, owner: str
    ) -> RunReport:
        return cls(str(uuid.uuid4()), integration_id, source, trigger, owner, _now())

    def fail(self, kind: str, name: str, detail: str) -> None:
        """Count one object that could not be changed and keep its error."""
        (self.users if kind == "user" else self.groups)["failed"] += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"object": f"{kind} {name}", "detail": detail})

    def finish(self, status: str | None = None, detail: str | None = None) -> None:
        """Set the final status: partial when some objects failed."""
        failures = self.users["failed"] + self.groups["failed"]
        self.status = status or (PARTIAL if failures else SUCCEEDED)
        self.detail = detail
        self.finished_at = _now()
        elapsed = self.finished_at - self.started_at
        self.duration_ms = round(elapsed.total_seconds() * 1000, 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "integration_id": self.integration_id,
            "source": self.source,
            "trigger": self.trigger,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "duration_ms": self.duration_ms,
            **{name: self.users[name] for name in USER_COUNTS},
            "groups": {name: self.groups[name] for name in GROUP_COUNTS},
            "errors": self.errors,
            "detail": self.detail,
        }


def start_run(store: Store, report: RunReport) -> None:
    """Record a run as started; runs left ``running`` by a dead owner end here.

    Only the lease holder starts a run, so any other ``running`` row of the
    integration belongs to a run that stopped without finishing.
    """
    with store.session() as session:
        session.execute(
            update(SyncRun)
            .where(
                SyncRun.integration_id == report.integration_id,
                SyncRun.status == RUNNING,
            )
            .values(
                status=INTERRUPTED,
                detail="the run stopped before it finished (its process ended)",
            )
        )
        session.add(_row(report))


def finish_run(store: Store, report: RunReport) -> None:
    with store.session() as session:
        session.merge(_row(report))


def list_runs(store: Store, integration_id: str, limit: int) -> list[RunReport]:
    """Return an integration's newest runs, newest first."""
    query = (
        select(SyncRun)
        .where(SyncRun.integration_id == integration_id)
        .order_by(SyncRun.started_at.desc())
        .limit(limit)
    )
    with store.session() as session:
        return [_report(row) for row in session.scalars(query)]


def get_run(store: Store, integration_id: str, run_id: str) -> RunReport | None:
    """Return one run of an integration, or None when it has no such run."""
    with store.session() as session:
        row = session.get(SyncRun, run_id)
        if row is None or row.integration_id != integration_id:
            return None
        return _report(row)


def _row(report: RunReport) -> SyncRun:
    return SyncRun(
        id=report.id,
        integration_id=report.integration_id,
        source=report.source,
        trigger=report.trigger,
        status=report.status,
        owner=report.owner,
        started_at=report.started_at,
        finished_at=report.finished_at,
        duration_ms=report.duration_ms,
        **{name: report.users[name] for name in USER_COUNTS},
        groups={name: report.groups[name] for name in GROUP_COUNTS},
        errors=report.errors,
        detail=report.detail,
    )


def _report(row: SyncRun) -> RunReport:
    return RunReport(
        id=row.id,
        integration_id=row.integration_id,
        source=row.source,
        trigger=row.trigger,
        owner=row.owner,
        started_at=row.started_at,
        status=row.status,
        finished_at=row.finished_at,
        duration_ms=row.duration_ms,
        users=Counter({name: getattr(row, name) for name in USER_COUNTS}),
        groups=Counter(row.groups or {}),
        errors=list(row.errors or []),
        detail=row.detail,
    )


def _now() -> datetime:
    return datetime.now(UTC)
