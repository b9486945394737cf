"""Configuration changes reach a running directory: by notice or by polling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from scimrelay.context import AppContext
from scimrelay.errors import SettingsError
from scimrelay.integrations.service import IntegrationInput
from scimrelay.ops.notify import ChangeListener
from scimrelay.relay.directory import Directory
from tests.store.conftest import POSTGRES_ONLY

# Long enough that only a notice can explain a reload within a second.
POLL_NEVER = 60.0
PROPAGATION_BOUND = 1.0


def create_integration(context: AppContext) -> str:
    tenant = context.service.create_tenant("Acme")
    created = context.service.create_integration(
        tenant.id,
        IntegrationInput(
            name="Braze", scim_url="https://rest.example.com/scim/v2", token="t0k3n"
        ),
    )
    return created.integration.id


async def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> float:
    """Poll ``condition`` every 10 ms; return the seconds it took to hold."""
    started = time.perf_counter()
    while not condition():
        assert time.perf_counter() - started < timeout, "condition never held"
        await asyncio.sleep(0.01)
    return time.perf_counter() - started


async def change_seen_after(
    context: AppContext, poll_interval: float, *, listen: bool
) -> float:
    """Return how long a running directory takes to load a new integration."""
    directory = Directory(context.service)
    directory.refresh_if_changed()
    listener = None
    tasks = [asyncio.create_task(directory.keep_fresh(poll_interval))]
    if listen:
        listener = ChangeListener(context.store.engine.url, directory.wake)
        tasks.append(asyncio.create_task(listener.run()))
        await wait_for(lambda: listener is not None and listener.connected)
    # Let the reload that connecting triggers finish first.
    await asyncio.sleep(0.2)
    try:
        integration_id = await asyncio.to_thread(create_integration, context)
        return await wait_for(lambda: directory.get(integration_id) is not None)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@POSTGRES_ONLY
def test_notice_reloads_directory_within_a_second(context: AppContext) -> None:
    elapsed = asyncio.run(change_seen_after(context, POLL_NEVER, listen=True))

    assert elapsed < PROPAGATION_BOUND


def test_poll_reloads_directory_without_notices(context: AppContext) -> None:
    elapsed = asyncio.run(change_seen_after(context, 0.2, listen=False))

    assert elapsed < PROPAGATION_BOUND


async def notices_for_rolled_back_then_committed(context: AppContext) -> int:
    notices: list[float] = []
    listener = ChangeListener(
        context.store.engine.url, lambda: notices.append(time.perf_counter())
    )
    task = asyncio.create_task(listener.run())
    try:
        await wait_for(lambda: listener.connected and len(notices) == 1)
        await asyncio.to_thread(rolled_back_change, context)
        await asyncio.to_thread(context.service.create_tenant, "Committed")
        await wait_for(lambda: len(notices) > 1)
        await asyncio.sleep(0.2)
        return len(notices) - 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def rolled_back_change(context: AppContext) -> None:
    with pytest.raises(SettingsError), context.store.transaction():
        context.service.create_tenant("Rolled back")
        context.service.create_tenant("")


@POSTGRES_ONLY
def test_rolled_back_change_sends_no_notice(context: AppContext) -> None:
    received = asyncio.run(notices_for_rolled_back_then_committed(context))

    assert received == 1
