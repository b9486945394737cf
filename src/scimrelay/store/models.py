"""SQLAlchemy tables of the store; every change to them ships as a migration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: DateTime(timezone=True)}


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]

    integrations: Mapped[list[Integration]] = relationship(
        back_populates="tenant", cascade="all, delete-orphan"
    )


class Integration(Base):
    __tablename__ = "integrations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    scim_url: Mapped[str] = mapped_column(String(2048))
    token_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    # A list of {"name": ..., "value": ...}; values are encrypted like the token.
    headers_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    header_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    group_description: Mapped[str] = mapped_column(String(1000))
    force_group_description: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    tenant: Mapped[Tenant] = relationship(back_populates="integrations")
    api_keys: Mapped[list[ApiKey]] = relationship(
        back_populates="integration", cascade="all, delete-orphan"
    )


class ApiKey(Base):
    """A SCIM API key issued to an identity provider, stored only as a hash."""

    __tablename__ = "api_keys"

    # The key's public id part, so that a presented key is found by primary key.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    integration_id: Mapped[str] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE"), index=True
    )
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    integration: Mapped[Integration] = relationship(back_populates="api_keys")


class StoreState(Base):
    """Single-row table: the key check value and the configuration version."""

    __tablename__ = "store_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_check: Mapped[bytes | None] = mapped_column(LargeBinary)
    config_version: Mapped[int] = mapped_column(BigInteger, default=0)


class RequestLogEntry(Base):
    __tablename__ = "request_log"
    __table_args__ = (
        Index("ix_request_log_integration_time", "integration_id", "time"),
        Index("ix_request_log_tenant_time", "tenant_id", "time"),
        Index("ix_request_log_status_time", "status", "time"),
        Index(
            "ix_request_log_integration_status_time",
            "integration_id",
            "status",
            "time",
        ),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True
    )
    time: Mapped[datetime] = mapped_column(index=True)
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    tenant_id: Mapped[str | None] = mapped_column(String(36))
    integration_id: Mapped[str | None] = mapped_column(String(36))
    method: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(2048))
    query: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[int]
    downstream_status: Mapped[int | None]
    duration_ms: Mapped[float] = mapped_column(Float)
    downstream_ms: Mapped[float | None] = mapped_column(Float)
    client: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    request_body: Mapped[str | None] = mapped_column(Text)
    response_body: Mapped[str | None] = mapped_column(Text)
    # The entry this request re-sent, for a replay from the log.
    replay_of: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), index=True
    )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": _as_utc(self.time).isoformat(),
            "request_id": self.request_id,
            "tenant_id": self.tenant_id,
            "integration_id": self.integration_id,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "downstream_status": self.downstream_status,
            "duration_ms": self.duration_ms,
            "downstream_ms": self.downstream_ms,
            "client": self.client,
            "error": self.error,
            "request_body": self.request_body,
            "response_body": self.response_body,
            "replay_of": self.replay_of,
        }


class IntegrationPolicy(Base):
    """An integration's rate limits, timeouts and breaker settings.

    A null column means the default of
    :class:`scimrelay.resilience.policy.Policy`.
    """

    __tablename__ = "integration_policies"

    integration_id: Mapped[str] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE"), primary_key=True
    )
    per_second: Mapped[float | None] = mapped_column(Float)
    per_day: Mapped[int | None] = mapped_column(BigInteger)
    connect_timeout: Mapped[float | None] = mapped_column(Float)
    read_timeout: Mapped[float | None] = mapped_column(Float)
    total_timeout: Mapped[float | None] = mapped_column(Float)
    max_attempts: Mapped[int | None]
    breaker_failures: Mapped[int | None]
    breaker_cooldown: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime]


def _as_utc(moment: datetime) -> datetime:
    """Attach UTC to a time read back from SQLite, which drops the offset."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
