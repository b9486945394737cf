"""SQLAlchemy tables of the store; every change to them ships as a migration."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from scimrelay.store.types import UtcDateTime


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime()}


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
    # Provider profile, rules switched off, provider authentication, capability
    # adaptation settings and the last stored reading of the downstream's
    # discovery endpoints (see scimrelay.adapt).
    profile: Mapped[str] = mapped_column(
        String(32), default="generic", server_default="generic"
    )
    disabled_rules: Mapped[list[str]] = mapped_column(
        JSON, default=list, server_default="[]"
    )
    provider_auth: Mapped[str] = mapped_column(
        String(16), default="bearer", server_default="bearer"
    )
    adaptation: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, server_default="{}"
    )
    capabilities: Mapped[dict[str, Any] | None] = mapped_column(JSON)

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
    applied_rules: Mapped[list[str] | None] = mapped_column(JSON)
    original_request_body: Mapped[str | None] = mapped_column(Text)
    # Who sent the request: None for identity providers, "sync:google" for a sync.
    source: Mapped[str | None] = mapped_column(String(32))
    # The entry this request re-sent, for a replay from the log.
    replay_of: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), index=True
    )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.time.isoformat(),
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
            "source": self.source,
            "replay_of": self.replay_of,
            "applied_rules": self.applied_rules or [],
            "original_request_body": self.original_request_body,
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


class AdminUser(Base):
    """A console and admin API account; a tenant admin is bound to one tenant."""

    __tablename__ = "admin_users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    tenant_id: Mapped[str | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]


class AdminSession(Base):
    """A signed-in browser: the cookie contains the token, the row its hash."""

    __tablename__ = "admin_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("admin_users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class AdminToken(Base):
    """An admin API token, stored only as a hash and found by its public id."""

    __tablename__ = "admin_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("admin_users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class SetupToken(Base):
    """The one-time link that creates the first owner account."""

    __tablename__ = "admin_setup_tokens"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class SignInFailure(Base):
    """Failed console sign-ins counted against one account or client address.

    The key is a SHA-256 digest of ``email:...`` or ``client:...``; times are
    seconds since the epoch, so every instance reads the same clock.
    """

    __tablename__ = "admin_signin_failures"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    blocked_until: Mapped[float] = mapped_column(Float)
    last_failure: Mapped[float] = mapped_column(Float)


class AuditEvent(Base):
    """One change or test made by an admin, recorded without any secret."""

    __tablename__ = "admin_audit"
    __table_args__ = (Index("ix_admin_audit_tenant_time", "tenant_id", "time"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True
    )
    time: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[str | None] = mapped_column(String(36))
    actor_email: Mapped[str] = mapped_column(String(320))
    via: Mapped[str] = mapped_column(String(20))
    tenant_id: Mapped[str | None] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(60))
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(64))
    target_name: Mapped[str | None] = mapped_column(String(320))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    client: Mapped[str | None] = mapped_column(String(64))
