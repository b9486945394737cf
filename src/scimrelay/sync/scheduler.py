"""The background task of a relay process that starts syncs when they are due.

Every ``tick_seconds`` it lists the sources whose interval has passed since
their last run and starts each one that this process is not already running.
Several relay processes may all do this: the lease lets one of them run a
given integration, and the others skip it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from functools import partial

import structlog

from scimrelay.context import AppContext
from scimrelay.errors import ScimRelayError, SyncBusy
from scimrelay.relay.directory import Directory, RuntimeIntegration
from scimrelay.scim.endpoint import ScimEndpoint
from scimrelay.sync.config import SyncSettings
from scimrelay.sync.engine import SyncDeps, SyncEngine

logger = structlog.get_logger(__name__)


class SyncScheduler:
    """Starts scheduled runs in the background of a relay process."""

    def __init__(
        self, engine: SyncEngine, directory: Directory, settings: SyncSettings
    ) -> None:
        self.engine = engine
        self.directory = directory
        self.settings = settings
        self._runs: dict[str, asyncio.Task[None]] = {}
        self._loop_task: asyncio.Task[None] | None = None

    @classmethod
    def for_relay(
        cls, context: AppContext, directory: Directory, endpoint: ScimEndpoint
    ) -> SyncScheduler:
        """Build the scheduler of a relay process from the environment."""
        settings = SyncSettings.from_env()
        deps = SyncDeps(context.store, context.keyring, endpoint, settings)
        return cls(SyncEngine(deps), directory, settings)

    def start(self) -> None:
        if self.settings.scheduler:
            self._loop_task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        """Stop the loop and every run; each run records itself as interrupted."""
        tasks = [task for task in (self._loop_task, *self._runs.values()) if task]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            try:
                await self._start_due_runs()
            except Exception:
                logger.exception("sync scheduler could not list due sources")
            await asyncio.sleep(self.settings.tick_seconds)

    async def _start_due_runs(self) -> None:
        now = datetime.now(UTC)
        due = await asyncio.to_thread(self.engine.sources.due, now)
        for integration_id in due:
            integration = self.directory.get(integration_id)
            if integration is None or integration_id in self._runs:
                continue
            task = asyncio.create_task(self._run(integration))
            self._runs[integration_id] = task
            task.add_done_callback(partial(self._forget, integration_id))

    def _forget(self, integration_id: str, _task: asyncio.Task[None]) -> None:
        self._runs.pop(integration_id, None)

    async def _run(self, integration: RuntimeIntegration) -> None:
        try:
            report = await self.engine.run(integration, trigger="schedule")
        except SyncBusy:
            logger.info("scheduled sync skipped: the lease is taken by another run")
        except ScimRelayError as error:
            logger.warning("scheduled sync did not start", error=str(error))
        except Exception:
            logger.exception("scheduled sync failed unexpectedly")
        else:
            logger.info("scheduled sync done", status=report.status)
