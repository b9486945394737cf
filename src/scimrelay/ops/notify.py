"""Configuration change notices between relay instances over PostgreSQL.

The service layer calls :func:`announce_change` in every transaction that
changes the configuration. On PostgreSQL that queues a ``NOTIFY``, which the
server delivers only when the transaction commits, so a listener never
reloads before the change is visible. Each relay keeps one dedicated
connection that ``LISTEN``\\s and wakes its directory, so a change made on any
instance is loaded by every instance within milliseconds. The directory's
periodic version check stays as the safety net for a notice lost while the
listener reconnects. SQLite has no notices and relies on that check alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import psycopg
import structlog
from sqlalchemy import URL, text
from sqlalchemy.orm import Session

logger = structlog.get_logger(__name__)

CHANNEL = "scimrelay_config"
HEARTBEAT_INTERVAL = 30.0
CONNECT_TIMEOUT = 10
RECONNECT_DELAYS = (0.5, 1.0, 2.0, 5.0)


def announce_change(session: Session) -> None:
    """Queue a change notice that PostgreSQL sends when this transaction commits."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


def libpq_conninfo(url: URL) -> str:
    """Return a SQLAlchemy PostgreSQL URL as a libpq connection string."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class ChangeListener:
    """Calls ``on_change`` for every notice, reconnecting until cancelled."""

    def __init__(self, url: URL, on_change: Callable[[], None]) -> None:
        self._conninfo = libpq_conninfo(url)
        self._on_change = on_change
        self.connected = False

    async def run(self) -> None:
        """Listen until cancelled; after each failure wait, then reconnect."""
        failures = 0
        while True:
            try:
                await self._listen()
            except (psycopg.Error, OSError, TimeoutError) as error:
                # A listener that was connected retries after the shortest
                # delay; one that keeps failing to connect backs off.
                failures = 0 if self.connected else failures + 1
                self.connected = False
                delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
                logger.warning(
                    "configuration listener disconnected; reconnecting",
                    error=type(error).__name__,
                    retry_in_seconds=delay,
                )
                await asyncio.sleep(delay)

    async def _listen(self) -> None:
        async with await psycopg.AsyncConnection.connect(
            self._conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT
        ) as connection:
            await connection.execute(f"LISTEN {CHANNEL}")
            self.connected = True
            logger.info("listening for configuration changes", channel=CHANNEL)
            # A change committed while no listener was connected sent no notice.
            self._on_change()
            while True:
                async for _notice in connection.notifies(timeout=HEARTBEAT_INTERVAL):
                    self._on_change()
                async with asyncio.timeout(CONNECT_TIMEOUT):
                    await connection.execute("SELECT 1")
