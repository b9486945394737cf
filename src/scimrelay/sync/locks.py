"""One lease per integration, so that two runs never overlap, across instances too.

A run owns the integration's row in ``sync_leases`` while it works. Taking
the lease is a single INSERT, or a single UPDATE of an expired row; each is
atomic in SQLite and PostgreSQL, so of two instances that race for it, exactly
one wins. The holder renews the lease as it runs. The lease of an instance
that died expires after ``lease_seconds``, and the next run takes over.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, cast

import structlog
from sqlalchemy import CursorResult, delete, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from scimrelay.errors import SyncBusy
from scimrelay.store.database import Store
from scimrelay.sync.models import SyncLease

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Lease:
    integration_id: str
    owner: str
    seconds: float


def new_owner() -> str:
    """Name this process uniquely: host, process id and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire(store: Store, integration_id: str, seconds: float) -> Lease:
    """Take the integration's lease, or raise SyncBusy naming its holder."""
    lease = Lease(integration_id, new_owner(), seconds)
    if _insert(store, lease) or _take_expired(store, lease):
        return lease
    raise SyncBusy(_busy_message(store, integration_id))


def renew(store: Store, lease: Lease) -> bool:
    """Extend the lease; return False if another owner has taken it."""
    with store.session() as session:
        result = session.execute(
            update(SyncLease)
            .where(
                SyncLease.integration_id == lease.integration_id,
                SyncLease.owner == lease.owner,
            )
            .values(expires_at=time.time() + lease.seconds)
        )
        return cast(CursorResult[Any], result).rowcount == 1


def release(store: Store, lease: Lease) -> None:
    with store.session() as session:
        session.execute(
            delete(SyncLease).where(
                SyncLease.integration_id == lease.integration_id,
                SyncLease.owner == lease.owner,
            )
        )


def _insert(store: Store, lease: Lease) -> bool:
    row = SyncLease(
        integration_id=lease.integration_id,
        owner=lease.owner,
        expires_at=time.time() + lease.seconds,
    )
    try:
        with store.session() as session:
            session.add(row)
    except IntegrityError:
        return False
    return True


def _take_expired(store: Store, lease: Lease) -> bool:
    now = time.time()
    with store.session() as session:
        result = session.execute(
            update(SyncLease)
            .where(
                SyncLease.integration_id == lease.integration_id,
                SyncLease.expires_at < now,
            )
            .values(owner=lease.owner, expires_at=now + lease.seconds)
        )
        return cast(CursorResult[Any], result).rowcount == 1


def _busy_message(store: Store, integration_id: str) -> str:
    with store.session() as session:
        row = session.get(SyncLease, integration_id)
        holder = row.owner if row else "another run"
        until = datetime.fromtimestamp(row.expires_at if row else time.time(), UTC)
    return (
        f"a sync of integration {integration_id} is already running ({holder}, "
        f"lease renewed until {until:%H:%M:%S} UTC): wait until it ends, or see "
        f"`scimrelay sync status {integration_id}`"
    )


class LeaseKeeper:
    """Renews a lease while a run works; cancels the run if the lease is lost."""

    def __init__(self, store: Store, lease: Lease) -> None:
        self.store = store
        self.lease = lease
        self.lost = False
        self._guarded: asyncio.Task[Any] | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LeaseKeeper:
        self._guarded = asyncio.current_task()
        self._task = asyncio.create_task(self._renew_forever())
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _renew_forever(self) -> None:
        renewed_at = time.monotonic()
        while True:
            await asyncio.sleep(self.lease.seconds / 3)
            renewed = await self._try_renew()
            if renewed:
                renewed_at = time.monotonic()
            expired = time.monotonic() - renewed_at >= self.lease.seconds
            if renewed is False or expired:
                self._give_up()
                return

    async def _try_renew(self) -> bool | None:
        """Renew the lease; return None when the store cannot be reached."""
        try:
            return await asyncio.to_thread(renew, self.store, self.lease)
        except SQLAlchemyError as error:
            logger.warning("sync lease not renewed", error=type(error).__name__)
            return None

    def _give_up(self) -> None:
        logger.error(
            "sync lease lost; stopping the run",
            integration_id=self.lease.integration_id,
        )
        self.lost = True
        if self._guarded is not None:
            self._guarded.cancel()
