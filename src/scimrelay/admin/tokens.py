"""Admin API tokens: shown once, stored as a hash, found by their public id.

A token reads ``scimrelay_admin_<id>_<secret>``. Like the SCIM API keys, the
secret contains 256 random bits, so a SHA-256 of it is as strong as a slow hash.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from scimrelay.admin.accounts import AdminView, _view, digest, now
from scimrelay.errors import NotFoundError
from scimrelay.integrations import validation
from scimrelay.integrations.keys import secret_matches
from scimrelay.integrations.validation import Checked
from scimrelay.store.database import Store
from scimrelay.store.models import AdminToken, AdminUser

TOKEN_PREFIX = "scimrelay_admin_"
TOKEN_ID_LENGTH = 16


@dataclass(frozen=True)
class TokenView:
    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        def when(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "id": self.id,
            "name": self.name,
            "created_at": self.created_at.isoformat(),
            "last_used_at": when(self.last_used_at),
            "revoked_at": when(self.revoked_at),
        }


@dataclass(frozen=True)
class IssuedToken:
    view: TokenView
    plaintext: str


class TokenStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def issue(self, user_id: str, name: str) -> IssuedToken:
        checked = Checked()
        name = validation.check_name(name, checked)
        checked.raise_if_rejected()
        token_id = secrets.token_hex(TOKEN_ID_LENGTH // 2)
        secret = secrets.token_urlsafe(32)
        row = AdminToken(
            id=token_id,
            user_id=user_id,
            name=name,
            secret_hash=digest(secret),
            created_at=now(),
        )
        with self.store.session() as session:
            session.add(row)
        return IssuedToken(_token_view(row), f"{TOKEN_PREFIX}{token_id}_{secret}")

    def list(self, user_id: str) -> list[TokenView]:
        query = (
            select(AdminToken)
            .where(AdminToken.user_id == user_id)
            .order_by(AdminToken.created_at.desc())
        )
        with self.store.session() as session:
            return [_token_view(row) for row in session.scalars(query)]

    def revoke(self, user_id: str, token_id: str) -> TokenView:
        with self.store.session() as session:
            row = session.get(AdminToken, token_id)
            if row is None or row.user_id != user_id:
                raise NotFoundError(f"admin token {token_id} not found")
            row.revoked_at = row.revoked_at or now()
            return _token_view(row)

    def resolve(self, presented: str) -> AdminView | None:
        """Return the admin owning an active token, or None."""
        parts = _split(presented)
        if parts is None:
            return None
        with self.store.session() as session:
            row = session.get(AdminToken, parts[0])
            if row is None or row.revoked_at is not None:
                return None
            if not secret_matches(parts[1], row.secret_hash):
                return None
            row.last_used_at = now()
            user = session.get(AdminUser, row.user_id)
            return _view(user) if user else None


def _split(presented: str) -> tuple[str, str] | None:
    if not presented.startswith(TOKEN_PREFIX):
        return None
    token_id, separator, secret = presented[len(TOKEN_PREFIX) :].partition("_")
    if not separator or len(token_id) != TOKEN_ID_LENGTH or not secret:
        return None
    return token_id, secret


def _token_view(row: AdminToken) -> TokenView:
    return TokenView(row.id, row.name, row.created_at, row.last_used_at, row.revoked_at)
