"""Console sessions: a random token in an HttpOnly cookie, its hash in the store.

Keeping the session in the store, not only in a signed cookie, makes sign-out
final: the row is deleted and the cookie is worthless from then on.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete

from scimrelay.admin.accounts import AdminView, _view, digest, now
from scimrelay.store.database import Store
from scimrelay.store.models import AdminSession, AdminUser

SESSION_LIFETIME = timedelta(hours=12)


class SessionStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def start(self, user_id: str) -> str:
        """Start a session for the admin and return the cookie's token."""
        token = secrets.token_urlsafe(32)
        started = now()
        with self.store.session() as session:
            session.execute(
                delete(AdminSession).where(AdminSession.expires_at < started)
            )
            session.add(
                AdminSession(
                    id=digest(token),
                    user_id=user_id,
                    created_at=started,
                    expires_at=started + SESSION_LIFETIME,
                )
            )
        return token

    def resolve(self, token: str) -> AdminView | None:
        """Return the admin of a live session, or None."""
        if not token:
            return None
        with self.store.session() as session:
            row = session.get(AdminSession, digest(token))
            if row is None or row.expires_at < now():
                return None
            user = session.get(AdminUser, row.user_id)
            return _view(user) if user else None

    def end(self, token: str) -> None:
        with self.store.session() as session:
            session.execute(
                delete(AdminSession).where(AdminSession.id == digest(token))
            )

    def end_all(self, user_id: str) -> None:
        with self.store.session() as session:
            session.execute(delete(AdminSession).where(AdminSession.user_id == user_id))
