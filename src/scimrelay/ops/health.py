"""``/healthz`` and ``/readyz``, kept cheap enough to be probed every second.

``/healthz`` reports that the process is alive and touches nothing.
``/readyz`` reports whether the store responds and has every migration this
release needs: one query of
the Alembic version table, run at most once a second however often the
probe comes, with the expected revisions read from the migration scripts
once at start-up. A database migrated by a newer release (a revision this
release does not know) counts as ready, so a rolling upgrade that migrates
first does not take the old instances out of service.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import structlog
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from scimrelay.store.database import Store, alembic_config

logger = structlog.get_logger(__name__)

CACHE_SECONDS = 1.0
CHECK_TIMEOUT = 3.0


@dataclass(frozen=True)
class Readiness:
    ready: bool
    body: dict[str, str]


class HealthChecks:
    """The probe endpoints of one relay process."""

    def __init__(self, store: Store) -> None:
        self._store = store
        script = ScriptDirectory.from_config(alembic_config(store.engine))
        self._heads = frozenset(script.get_heads())
        self._known = frozenset(rev.revision for rev in script.walk_revisions())
        self._lock = asyncio.Lock()
        self._last: tuple[float, Readiness] | None = None

    async def healthz(self, _request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, _request: Request) -> Response:
        readiness = await self.readiness()
        return JSONResponse(readiness.body, 200 if readiness.ready else 503)

    async def readiness(self) -> Readiness:
        """Return the last check if it is under a second old, else check again."""
        async with self._lock:
            if self._last and time.monotonic() - self._last[0] < CACHE_SECONDS:
                return self._last[1]

            readiness = await self._check_with_timeout()
            self._last = (time.monotonic(), readiness)
            return readiness

    async def _check_with_timeout(self) -> Readiness:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                return await asyncio.to_thread(self.check)
        except TimeoutError:
            logger.warning("readiness check timed out", timeout_seconds=CHECK_TIMEOUT)
            return _unavailable("store", "timeout")

    def check(self) -> Readiness:
        """Query the applied migrations; blocking."""
        try:
            with self._store.engine.connect() as connection:
                applied = set(
                    connection.scalars(text("SELECT version_num FROM alembic_version"))
                )
        except SQLAlchemyError as error:
            logger.warning("readiness check failed", error=type(error).__name__)
            return _unavailable("store", type(error).__name__)

        return self._compare(applied)

    def _compare(self, applied: set[str]) -> Readiness:
        if applied == self._heads:
            return Readiness(True, {"status": "ok", "migrations": "current"})
        if applied - self._known:
            return Readiness(True, {"status": "ok", "migrations": "newer"})

        missing = ", ".join(sorted(self._heads - applied)) or "unknown"
        return _unavailable("migrations", f"pending: {missing}")


def _unavailable(component: str, detail: str) -> Readiness:
    return Readiness(False, {"status": "unavailable", component: detail})
