"""The admin audit trail: who created, changed, tested, rotated or deleted what.

Entries name fields and ids, never values: a changed token is recorded as
``{"changed": ["token"]}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from scimrelay.admin.access import Actor
from scimrelay.admin.accounts import now
from scimrelay.integrations.service import Change
from scimrelay.store.database import Store
from scimrelay.store.models import AuditEvent


@dataclass(frozen=True)
class AuditView:
    id: int
    time: datetime
    actor_email: str
    via: str
    tenant_id: str | None
    action: str
    target_type: str
    target_id: str | None
    target_name: str | None
    detail: dict[str, Any]
    client: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.time.isoformat(),
            "actor": self.actor_email,
            "via": self.via,
            "tenant_id": self.tenant_id,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "target_name": self.target_name,
            "detail": self.detail,
            "client": self.client,
        }


class AuditLog:
    def __init__(self, store: Store) -> None:
        self.store = store

    def hook(self, actor: Actor) -> Any:
        """Return an audit hook for the integration service, acting as ``actor``."""

        def record(session: Session, change: Change) -> None:
            session.add(_event(actor, change))

        return record

    def record(self, actor: Actor, change: Change) -> None:
        with self.store.session() as session:
            session.add(_event(actor, change))

    def list(
        self, actor: Actor, *, limit: int = 50, offset: int = 0
    ) -> tuple[list[AuditView], int]:
        """Return a page of the actor's visible events, newest first, and the total."""
        query = select(AuditEvent)
        tenants = actor.visible_tenants()
        if tenants is not None:
            query = query.where(
                or_(
                    AuditEvent.tenant_id.in_(tenants),
                    AuditEvent.actor_id == actor.user_id,
                )
            )
        total_query = select(func.count()).select_from(query.subquery())
        query = query.order_by(AuditEvent.id.desc()).limit(limit).offset(offset)
        with self.store.session() as session:
            total = int(session.scalar(total_query) or 0)
            return [_view(row) for row in session.scalars(query)], total


def _event(actor: Actor, change: Change) -> AuditEvent:
    return AuditEvent(
        time=now(),
        actor_id=actor.user_id,
        actor_email=actor.email,
        via=actor.via,
        tenant_id=change.tenant_id,
        action=change.action,
        target_type=change.target_type,
        target_id=change.target_id,
        target_name=change.target_name,
        detail=dict(change.detail),
        client=actor.client,
    )


def _view(row: AuditEvent) -> AuditView:
    return AuditView(
        row.id,
        row.time,
        row.actor_email,
        row.via,
        row.tenant_id,
        row.action,
        row.target_type,
        row.target_id,
        row.target_name,
        dict(row.detail or {}),
        row.client,
    )
