"""Running a sync: lease, read both sides, plan, apply, record the run."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog

from scimrelay.errors import DownstreamUnavailable, SyncError
from scimrelay.relay.directory import RuntimeIntegration
from scimrelay.scim.endpoint import ScimEndpoint
from scimrelay.store.crypto import Keyring
from scimrelay.store.database import Store
from scimrelay.sync import locks
from scimrelay.sync.config import SyncSettings
from scimrelay.sync.downstream import SyncScim
from scimrelay.sync.executor import Executor
from scimrelay.sync.google import DirectoryReader, GoogleSourceConfig
from scimrelay.sync.links import LinkBook, load_links
from scimrelay.sync.mapping import effective_mapping
from scimrelay.sync.plan import USER, Plan, PlanInput, make_plan
from scimrelay.sync.runs import FAILED, INTERRUPTED, RunReport, finish_run, start_run
from scimrelay.sync.service import SourceService

logger = structlog.get_logger(__name__)

SOURCE = "google"
LOG_SOURCE = "sync:google"


@dataclass(frozen=True)
class SyncDeps:
    """Dependencies of a sync: the store, the keyring and the relay's endpoint."""

    store: Store
    keyring: Keyring
    endpoint: ScimEndpoint
    settings: SyncSettings


@dataclass(frozen=True)
class PreparedRun:
    """A run whose lease is taken and whose row is stored, not yet applied."""

    integration: RuntimeIntegration
    config: GoogleSourceConfig
    lease: locks.Lease
    report: RunReport


class SyncEngine:
    """Previews and runs the Google sync of an integration."""

    def __init__(self, deps: SyncDeps) -> None:
        self.deps = deps
        self.sources = SourceService(deps.store, deps.keyring)

    async def preview(self, integration: RuntimeIntegration) -> Plan:
        """Return every change a run would make now, sending none of them."""
        config = await asyncio.to_thread(self.sources.config, integration.id)
        scim = SyncScim(integration, self.deps.endpoint, LOG_SOURCE)
        book = LinkBook(self.deps.store, integration.id)
        return await self._plan(config, scim, book)

    async def run(
        self, integration: RuntimeIntegration, trigger: str = "manual"
    ) -> RunReport:
        """Run a sync under the integration's lease; raise SyncBusy if held."""
        return await self.execute(await self.prepare(integration, trigger))

    async def prepare(
        self, integration: RuntimeIntegration, trigger: str
    ) -> PreparedRun:
        """Take the lease and record the run as started; raise SyncBusy if held.

        The run's row exists when this returns, so a front end can show the
        run at once and leave :meth:`execute` to a background task.
        """
        store = self.deps.store
        config = await asyncio.to_thread(self.sources.config, integration.id)
        lease = await asyncio.to_thread(
            locks.acquire, store, integration.id, self.deps.settings.lease_seconds
        )
        report = RunReport.begin(integration.id, SOURCE, trigger, lease.owner)
        try:
            await asyncio.to_thread(start_run, store, report)
        except BaseException:
            locks.release(store, lease)
            raise
        return PreparedRun(integration, config, lease, report)

    async def execute(self, prepared: PreparedRun) -> RunReport:
        """Apply a prepared run, keeping its lease renewed, then release it."""
        store = self.deps.store
        report = prepared.report
        try:
            async with locks.LeaseKeeper(store, prepared.lease) as keeper:
                with structlog.contextvars.bound_contextvars(
                    sync_run_id=report.id, integration_id=prepared.integration.id
                ):
                    await self._run(
                        prepared.integration, prepared.config, report, keeper
                    )
                return report
        finally:
            locks.release(store, prepared.lease)

    async def _run(
        self,
        integration: RuntimeIntegration,
        config: GoogleSourceConfig,
        report: RunReport,
        keeper: locks.LeaseKeeper,
    ) -> None:
        logger.info("sync run started", trigger=report.trigger)
        scim = SyncScim(integration, self.deps.endpoint, LOG_SOURCE)
        book = LinkBook(self.deps.store, integration.id)
        try:
            await self._sync(config, scim, book, report)
            report.finish()
        except SyncError as error:
            unavailable = isinstance(error, DownstreamUnavailable)
            report.finish(INTERRUPTED if unavailable else FAILED, str(error))
        except asyncio.CancelledError:
            report.finish(INTERRUPTED, _cancel_detail(keeper))
            if not keeper.lost:
                raise
            _uncancel()
        except Exception as error:
            logger.exception("sync run failed unexpectedly")
            report.finish(FAILED, f"internal error ({type(error).__name__})")
        finally:
            # Blocking on purpose: this must happen even when cancelled.
            book.write(book.take())
            finish_run(self.deps.store, report)
            logger.info("sync run finished", **report.to_dict())

    async def _sync(
        self,
        config: GoogleSourceConfig,
        scim: SyncScim,
        book: LinkBook,
        report: RunReport,
    ) -> None:
        plan = await self._plan(config, scim, book)
        report.users["unchanged"] = plan.unchanged_users
        report.groups["unchanged"] = plan.unchanged_groups
        for link, downstream_id in plan.links.items():
            book.set(link, downstream_id)
        for link in plan.stale_links:
            book.drop(link)
        updates_groups = any(change.action == "update" for change in plan.groups)
        patch = updates_groups and await scim.patch_supported()
        executor = Executor(scim, book, report, self.deps.settings.concurrency, patch)
        await executor.apply(plan)

    async def _plan(
        self, config: GoogleSourceConfig, scim: SyncScim, book: LinkBook
    ) -> Plan:
        """Read Google, the downstream and the links, and compare them."""
        settings = self.deps.settings
        api_url = config.api_url or settings.google_api_url
        reader = DirectoryReader(config, api_url, settings.retry_seconds)
        snapshot = await asyncio.to_thread(reader.read)
        users = await scim.list_all("Users")
        groups = await scim.list_all("Groups") if config.sync_groups else []
        links = await asyncio.to_thread(
            load_links, self.deps.store, book.integration_id
        )
        if not config.sync_groups:
            links = {link: value for link, value in links.items() if link[0] == USER}
        book.current = dict(links)
        data = PlanInput(
            snapshot,
            users,
            groups,
            links,
            effective_mapping(config.mapping),
            config.delete_users,
        )
        return make_plan(data)


def _cancel_detail(keeper: locks.LeaseKeeper) -> str:
    if keeper.lost:
        return "another instance took over the lease; it runs the sync instead"
    return "the relay stopped during the run; the next run picks up from here"


def _uncancel() -> None:
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()
