"""Admin accounts: creation, sign-in and the first owner's setup link."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scimrelay.admin.access import OWNER, ROLES, TENANT_ADMIN, Actor
from scimrelay.admin.passwords import (
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from scimrelay.errors import NotFoundError, SettingsError
from scimrelay.integrations.validation import Checked
from scimrelay.store.database import Store
from scimrelay.store.models import AdminUser, SetupToken, Tenant

MAX_EMAIL_LENGTH = 320


@dataclass(frozen=True)
class AdminView:
    """An admin account as shown to owners: never the password hash."""

    id: str
    email: str
    role: str
    tenant_id: str | None
    created_at: datetime
    last_login_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "role": self.role,
            "tenant_id": self.tenant_id,
            "created_at": self.created_at.isoformat(),
            "last_login_at": (
                self.last_login_at.isoformat() if self.last_login_at else None
            ),
        }

    def actor(self, via: str, client: str | None = None) -> Actor:
        return Actor(self.id, self.email, self.role, self.tenant_id, via, client)


def now() -> datetime:
    return datetime.now(UTC)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


class AccountService:
    """Create, list and delete admins, check passwords, run the setup link."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def has_admins(self) -> bool:
        with self.store.session() as session:
            return bool(session.scalar(select(func.count()).select_from(AdminUser)))

    def create_admin(
        self,
        email: str,
        password: str,
        role: str = OWNER,
        tenant_id: str | None = None,
    ) -> AdminView:
        """Create an admin; a tenant admin must name an existing tenant."""
        email = normalise_email(email)
        checked = _check_account(email, password, role, tenant_id)
        with self.store.session() as session:
            _check_unique(session, email, tenant_id, checked)
            user = AdminUser(
                id=str(uuid.uuid4()),
                email=email,
                password_hash=hash_password(password),
                role=role,
                tenant_id=tenant_id if role == TENANT_ADMIN else None,
                created_at=now(),
            )
            session.add(user)
            return _view(user)

    def list_admins(self) -> list[AdminView]:
        with self.store.session() as session:
            users = session.scalars(select(AdminUser).order_by(AdminUser.created_at))
            return [_view(user) for user in users]

    def get_admin(self, user_id: str) -> AdminView:
        with self.store.session() as session:
            return _view(_get_user(session, user_id))

    def delete_admin(self, user_id: str) -> AdminView:
        """Delete an admin, keeping at least one owner."""
        with self.store.session() as session:
            user = _get_user(session, user_id)
            if user.role == OWNER and _owner_count(session) <= 1:
                raise SettingsError.single(
                    "user", "is the last owner: make another owner first"
                )
            session.delete(user)
            return _view(user)

    def authenticate(self, email: str, password: str) -> AdminView | None:
        """Return the admin whose email and password these are, or None."""
        with self.store.session() as session:
            user = session.scalar(
                select(AdminUser).where(AdminUser.email == normalise_email(email))
            )
            stored = user.password_hash if user else None
            if user is None or not verify_password(stored, password):
                return None
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            user.last_login_at = now()
            return _view(user)

    # The first owner

    def issue_setup_token(self) -> str | None:
        """Return a new one-time setup token while no admin exists, else None."""
        if self.has_admins():
            return None
        token = secrets.token_urlsafe(32)
        with self.store.session() as session:
            session.query(SetupToken).filter(SetupToken.used_at.is_(None)).delete()
            session.add(SetupToken(id=digest(token), created_at=now()))
        return token

    def setup_token_valid(self, token: str) -> bool:
        with self.store.session() as session:
            row = session.get(SetupToken, digest(token))
            return row is not None and row.used_at is None and not _any_admin(session)

    def complete_setup(self, token: str, email: str, password: str) -> AdminView:
        """Create the first owner with a setup token, which is then spent."""
        email = normalise_email(email)
        checked = _check_account(email, password, OWNER, None)
        checked.raise_if_rejected()
        with self.store.session() as session:
            row = session.get(SetupToken, digest(token), with_for_update=True)
            if row is None or row.used_at is not None or _any_admin(session):
                raise NotFoundError(
                    "this setup link is used or unknown: sign in, or run "
                    "`scimrelay admin create EMAIL`"
                )
            row.used_at = now()
            user = AdminUser(
                id=str(uuid.uuid4()),
                email=email,
                password_hash=hash_password(password),
                role=OWNER,
                tenant_id=None,
                created_at=now(),
            )
            session.add(user)
            return _view(user)


def _check_account(
    email: str, password: str, role: str, tenant_id: str | None
) -> Checked:
    checked = Checked()
    if "@" not in email or len(email) > MAX_EMAIL_LENGTH or " " in email:
        checked.reject("email", "is not an email address: write it as name@example.com")
    problem = password_problem(password)
    if problem:
        checked.reject("password", problem)
    if role not in ROLES:
        checked.reject("role", f"must be one of {', '.join(ROLES)}")
    if role == TENANT_ADMIN and not tenant_id:
        checked.reject("tenant_id", "is required for a tenant admin: choose a tenant")
    return checked


def _check_unique(
    session: Session, email: str, tenant_id: str | None, checked: Checked
) -> None:
    if session.scalar(select(AdminUser.id).where(AdminUser.email == email)):
        checked.reject("email", f"{email} already has an account")
    if tenant_id and session.get(Tenant, tenant_id) is None:
        checked.reject("tenant_id", f"tenant {tenant_id} does not exist")
    checked.raise_if_rejected()


def _any_admin(session: Session) -> bool:
    return session.scalar(select(AdminUser.id).limit(1)) is not None


def _owner_count(session: Session) -> int:
    query = select(func.count()).select_from(AdminUser).where(AdminUser.role == OWNER)
    return int(session.scalar(query) or 0)


def _get_user(session: Session, user_id: str) -> AdminUser:
    user = session.get(AdminUser, user_id)
    if user is None:
        raise NotFoundError(f"admin {user_id} not found")
    return user


def _view(user: AdminUser) -> AdminView:
    return AdminView(
        user.id,
        user.email,
        user.role,
        user.tenant_id,
        user.created_at,
        user.last_login_at,
    )
