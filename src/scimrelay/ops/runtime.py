"""The background tasks that make a relay process operable.

Started and stopped by the application's lifespan: the PostgreSQL change
listener, the hourly request log maintenance and the sampling of gauges.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Coroutine
from typing import Any

import structlog

from scimrelay.ops import metrics
from scimrelay.ops.notify import ChangeListener
from scimrelay.ops.retention import maintain
from scimrelay.relay.directory import Directory
from scimrelay.requestlog.recorder import RequestRecorder
from scimrelay.resilience.guard import Resilience
from scimrelay.settings import Settings
from scimrelay.store.database import Store

logger = structlog.get_logger(__name__)

# How often the directory checks the configuration version on its own. With
# PostgreSQL notices carrying each change, the check is only a safety net.
POLL_INTERVAL_SQLITE = 0.5
POLL_INTERVAL_WITH_NOTICES = 5.0
MAINTENANCE_INTERVAL = 3600.0
SAMPLE_INTERVAL = 1.0
# Breaker states may live in Redis, one round trip per integration, so they
# are read less often than the in-process gauges.
BREAKER_SAMPLE_INTERVAL = 5.0


class Operations:
    """Owns the operational background tasks of one relay process."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        directory: Directory,
        recorder: RequestRecorder,
        resilience: Resilience,
    ) -> None:
        self._settings = settings
        self._store = store
        self._directory = directory
        self._recorder = recorder
        self._resilience = resilience
        self._stopping = threading.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.listener: ChangeListener | None = None
        if store.dialect == "postgresql":
            self.listener = ChangeListener(store.engine.url, directory.wake)

    @property
    def poll_interval(self) -> float:
        """Seconds between the directory's own configuration version checks."""
        if self.listener is None:
            return POLL_INTERVAL_SQLITE
        return POLL_INTERVAL_WITH_NOTICES

    def start(self) -> None:
        if self.listener is not None:
            self._spawn(self.listener.run(), "change-listener")
        self._spawn(self._maintain_forever(), "request-log-maintenance")
        self._spawn(self._sample_forever(), "metrics-sampler")
        self._spawn(self._sample_breakers_forever(), "breaker-sampler")

    async def stop(self) -> None:
        """Cancel the tasks and wait for them, ending a maintenance run early."""
        self._stopping.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        metrics.mark_process_stopped()

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(work, name=name))

    async def _maintain_forever(self) -> None:
        while True:
            try:
                report = await asyncio.to_thread(
                    maintain,
                    self._store,
                    self._settings.log_retention_days,
                    stopping=self._stopping,
                )
            except Exception:
                logger.exception("request log maintenance failed; retrying next run")
            else:
                if report.changed:
                    logger.info("request log maintenance done", **report.to_dict())
            # Spread the runs of instances started together.
            await asyncio.sleep(MAINTENANCE_INTERVAL * random.uniform(0.9, 1.1))

    async def _sample_forever(self) -> None:
        while True:
            metrics.sample_request_log(self._recorder)
            metrics.sample_config_version(self._directory.version)
            await asyncio.sleep(SAMPLE_INTERVAL)

    async def _sample_breakers_forever(self) -> None:
        failing = False
        while True:
            try:
                await self._sample_breakers()
            except Exception as error:
                if not failing:
                    logger.warning(
                        "breaker state unreadable; metrics keep the last one",
                        error=type(error).__name__,
                    )
                failing = True
            else:
                failing = False
            await asyncio.sleep(BREAKER_SAMPLE_INTERVAL)

    async def _sample_breakers(self) -> None:
        for integration in self._directory.integrations():
            state = await self._resilience.describe(integration.id, integration.policy)
            metrics.set_breaker_state(integration.id, state["breaker"])
