"""Tables of directory sync: sources, leases, runs and the id links."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from scimrelay.store.models import Base


class GoogleSource(Base):
    """A Google Workspace directory that feeds one integration."""

    __tablename__ = "google_sources"

    integration_id: Mapped[str] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE"), primary_key=True
    )
    # The whole service-account JSON key, encrypted with the store's keyring.
    key_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    client_email: Mapped[str] = mapped_column(String(320))
    client_id: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(320))
    customer: Mapped[str | None] = mapped_column(String(64))
    domain: Mapped[str | None] = mapped_column(String(253))
    org_units: Mapped[list[str]] = mapped_column(JSON, default=list)
    group_patterns: Mapped[list[str]] = mapped_column(JSON, default=list)
    sync_groups: Mapped[bool] = mapped_column(Boolean, default=True)
    delete_users: Mapped[bool] = mapped_column(Boolean, default=False)
    interval_minutes: Mapped[int] = mapped_column(Integer)
    api_url: Mapped[str | None] = mapped_column(String(2048))
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SyncLease(Base):
    """The lease that keeps two runs of one integration from overlapping.

    ``expires_at`` is in seconds since the epoch, so that SQLite and
    PostgreSQL compare it the same way.
    """

    __tablename__ = "sync_leases"

    integration_id: Mapped[str] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE"), primary_key=True
    )
    owner: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[float] = mapped_column(Float)


class SyncRun(Base):
    """One run of a sync: its outcome, counts and first errors."""

    __tablename__ = "sync_runs"
    __table_args__ = (
        Index("ix_sync_runs_integration_time", "integration_id", "started_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    integration_id: Mapped[str] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE")
    )
    source: Mapped[str] = mapped_column(String(32))
    trigger: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    duration_ms: Mapped[float | None] = mapped_column(Float)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    deactivated: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    groups: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    errors: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    detail: Mapped[str | None] = mapped_column(Text)


class SyncLink(Base):
    """A source object's id and the id the downstream gave it."""

    __tablename__ = "sync_links"

    integration_id: Mapped[str] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    downstream_id: Mapped[str] = mapped_column(String(255))
