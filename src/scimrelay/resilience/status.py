"""Breaker and budget state as operators see it, across processes.

With Redis the state is read from Redis. Without it, each relay process
writes its in-process state to ``<data dir>/state/resilience-<pid>.json``
once a second when it changed, and the CLI reads the files of processes still running.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import structlog

from scimrelay.resilience.backends import MemoryBackend, describe_state
from scimrelay.resilience.guard import Resilience, open_backend
from scimrelay.resilience.policy import Policy
from scimrelay.settings import Settings

logger = structlog.get_logger(__name__)

PUBLISH_INTERVAL = 1.0
FILE_PREFIX = "resilience-"


def state_directory(settings: Settings) -> Path:
    return settings.data_dir / "state"


async def publish(
    resilience: Resilience,
    policy_of: Callable[[str], Policy | None],
    directory: Path,
    interval: float = PUBLISH_INTERVAL,
) -> None:
    """Write this process's in-process state to its file until cancelled."""
    backend = resilience.backend
    if not isinstance(backend, MemoryBackend):
        return
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{FILE_PREFIX}{os.getpid()}.json"
    written = None
    try:
        while True:
            document = await _document(backend, policy_of)
            if document != written:
                await asyncio.to_thread(_write, path, document)
                written = document
            await asyncio.sleep(interval)
    finally:
        path.unlink(missing_ok=True)


async def _document(
    backend: MemoryBackend, policy_of: Callable[[str], Policy | None]
) -> bytes:
    states = {}
    for key in backend.integration_ids():
        policy = policy_of(key)
        if policy is not None:
            states[key] = await backend.describe(key, policy)
    return orjson.dumps({"pid": os.getpid(), "states": states})


def _write(path: Path, document: bytes) -> None:
    """Replace the state file, in a thread: file writes stay off the event loop."""
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(document)
    os.replace(temporary, path)


async def describe(settings: Settings, integration_id: str, policy: Policy) -> Any:
    """Return an integration's state for the CLI: from Redis or the state files."""
    if settings.redis_url is not None:
        backend = open_backend(settings)
        try:
            return await backend.describe(integration_id, policy)
        finally:
            await backend.close()
    states = _running_states(state_directory(settings), integration_id)
    if not states:
        return describe_state("memory", policy, "closed", 0, 0.0, 0) | {"processes": 0}
    return _merge(states) | {"processes": len(states)}


def _running_states(directory: Path, integration_id: str) -> list[dict[str, Any]]:
    found = []
    for path in sorted(directory.glob(f"{FILE_PREFIX}*.json")):
        try:
            document = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            continue
        if _is_running(document.get("pid")) and integration_id in document["states"]:
            found.append(document["states"][integration_id])
    return found


def _merge(states: list[dict[str, Any]]) -> dict[str, Any]:
    """Combine processes: the worst breaker, summed budget use."""
    order = {"closed": 0, "half_open": 1, "open": 2}
    worst = max(states, key=lambda state: order.get(state["breaker"], 0))
    used = sum(state["requests_today"] for state in states)
    return worst | {"requests_today": used}


def _is_running(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
