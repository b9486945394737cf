"""Reading and writing integration policies in the store."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from scimrelay.resilience.policy import DEFAULT_POLICY, Policy
from scimrelay.store.models import IntegrationPolicy


def load(session: Session, integration_id: str) -> Policy:
    row = session.get(IntegrationPolicy, integration_id)
    return DEFAULT_POLICY if row is None else Policy.from_row(row)


def load_all(session: Session) -> dict[str, Policy]:
    """Return every stored policy by integration id."""
    rows = session.scalars(select(IntegrationPolicy))
    return {row.integration_id: Policy.from_row(row) for row in rows}


def save(session: Session, integration_id: str, policy: Policy, now: datetime) -> None:
    row = session.get(IntegrationPolicy, integration_id)
    if row is None:
        row = IntegrationPolicy(integration_id=integration_id)
        session.add(row)
    for item in fields(Policy):
        setattr(row, item.name, getattr(policy, item.name))
    row.updated_at = now
