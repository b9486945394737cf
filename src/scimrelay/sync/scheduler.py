"""The background task of a relay process that starts syncs when they are due.

Every ``tick_seconds`` it lists the sources whose interval has passed since
their last run and starts each one that this process is not already running.
Several relay processes may all do this: the lease lets one of them run a
given integration, and the others skip it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime
from functools import partial
from typing import Any

import structlog

from scimrelay.context import AppContext
from scimrelay.errors import NotFoundError, ScimRelayError, SyncBusy
from scimrelay.relay.directory import Directory, RuntimeIntegration
from scimrelay.scim.endpoint import ScimEndpoint
from scimrelay.sync.config import SyncSettings
from scimrelay.sync.engine import PreparedRun, SyncDeps, SyncEngine
from scimrelay.sync.plan import Plan
from scimrelay.sync.runs import RunReport

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

    async def preview(self, integration_id: str) -> Plan:
        """Return every change a run of the integration would make now."""
        return await self.engine.preview(self._integration(integration_id))

    async def start_now(self, integration_id: str, trigger: str) -> RunReport:
        """Start a run in the background and return its report, still running.

        Raise SyncBusy when a run of the integration is under way, here or in
        another process.
        """
        integration = self._integration(integration_id)
        if integration_id in self._runs:
            raise SyncBusy(
                f"a sync of integration {integration_id} is already running in "
                "this relay process: wait until it ends"
            )
        prepared = await self.engine.prepare(integration, trigger)
        self._track(integration_id, self._execute(prepared))
        return prepared.report

    def _integration(self, integration_id: str) -> RuntimeIntegration:
        integration = self.directory.get(integration_id)
        if integration is None and self.directory.refresh_if_changed():
            integration = self.directory.get(integration_id)
        if integration is None:
            raise NotFoundError(f"integration {integration_id} not found")
        return integration

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
            self._track(integration_id, self._run(integration))

    def _track(self, integration_id: str, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
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

    async def _execute(self, prepared: PreparedRun) -> None:
        try:
            report = await self.engine.execute(prepared)
        except Exception:
            logger.exception("sync failed unexpectedly", run_id=prepared.report.id)
        else:
            logger.info("sync done", status=report.status, run_id=report.id)
