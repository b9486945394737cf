"""The servers under test, each started on a free loopback port.

A target is anything that serves the benchmark's SCIM resources under a base
URL: the downstream itself, the nginx and floor references in front of it, or
the relay. Each starter registers its server's shutdown on the run's ExitStack.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from bench import fixtures, nginx
from bench.process import LOOPBACK, free_port, start_process, wait_until_ready

# Path in front of the references, with "bench" in place of an integration
# id, so their URLs have the same shape as the relay's.
REFERENCE_PREFIX = "/scim/v2/bench"
FLOOR_PROXY = Path(__file__).with_name("floor_proxy.py")


@dataclass(frozen=True)
class Target:
    """A running server and how a client addresses it."""

    name: str
    label: str
    scim_base_url: str
    # Base URL that Location and meta.location must start with in its replies.
    location_base_url: str
    headers: dict[str, str] = field(default_factory=dict)
    # Process id of the server, which is also its session id.
    pid: int | None = None


@dataclass
class RunContext:
    """Shared state of target starters: the ExitStack, folders and downstream."""

    stack: ExitStack
    workdir: Path
    log_dir: Path
    database_url: str | None = None
    relay_workers: int = 1
    # Extra SCIMRELAY_* settings for the relay, over the benchmark's own.
    relay_settings: dict[str, str] = field(default_factory=dict)
    downstream_port: int = 0
    downstream_pid: int = 0

    @property
    def downstream_scim_url(self) -> str:
        return f"http://{LOOPBACK}:{self.downstream_port}/scim/v2"


def start_downstream(context: RunContext) -> None:
    """Start the fixed nginx downstream and record its port in `context`."""
    port = free_port()
    workdir = context.workdir / "downstream"
    config = nginx.downstream_config(port, workdir)
    process = nginx.start_nginx(
        context.stack, "downstream", config, port, workdir, context.log_dir
    )
    context.downstream_port = port
    context.downstream_pid = process.pid


def direct_target(context: RunContext) -> Target:
    """Address the downstream itself, with the headers the relay would add."""
    return Target(
        name="direct",
        label="downstream (direct)",
        scim_base_url=context.downstream_scim_url,
        location_base_url=context.downstream_scim_url,
        headers=fixtures.downstream_headers(),
        pid=context.downstream_pid,
    )


def start_nginx_proxy(context: RunContext) -> Target:
    """Start nginx proxy_pass in front of the downstream: the practical ceiling."""
    port = free_port()
    workdir = context.workdir / "nginx-proxy"
    config = nginx.proxy_config(
        port, context.downstream_port, REFERENCE_PREFIX, workdir
    )
    process = nginx.start_nginx(
        context.stack, "nginx-proxy", config, port, workdir, context.log_dir
    )
    scim_base_url = f"http://{LOOPBACK}:{port}{REFERENCE_PREFIX}"
    return Target(
        name="nginx",
        label="nginx proxy_pass",
        scim_base_url=scim_base_url,
        location_base_url=scim_base_url,
        headers=_reference_client_headers(),
        pid=process.pid,
    )


def start_floor_proxy(context: RunContext) -> Target:
    """Start the minimal Python pass-through proxy: the floor under the relay."""
    return _start_floor(context, "floor", "Python floor proxy", {})


def start_floor_granian(context: RunContext) -> Target:
    """The floor proxy served by granian instead of uvicorn, for the comparison."""
    settings = {"FLOOR_SERVER": "granian"}
    return _start_floor(context, "floor-granian", "floor on granian", settings)


def start_floor_httpx(context: RunContext) -> Target:
    """The floor proxy forwarding with httpx instead of aiohttp, for the comparison."""
    settings = {"FLOOR_CLIENT": "httpx"}
    return _start_floor(context, "floor-httpx", "floor with httpx", settings)


def _start_floor(
    context: RunContext, name: str, label: str, settings: dict[str, str]
) -> Target:
    port = free_port()
    command = [
        sys.executable,
        str(FLOOR_PROXY),
        str(port),
        context.downstream_scim_url,
        REFERENCE_PREFIX,
    ]
    environment = {
        "FLOOR_HEADERS": json.dumps(fixtures.downstream_headers()),
        **settings,
    }
    process = start_process(context.stack, name, command, context.log_dir, environment)
    scim_base_url = f"http://{LOOPBACK}:{port}{REFERENCE_PREFIX}"
    # The floor has no health endpoint, so readiness is a full round trip.
    wait_until_ready(
        process,
        fixtures.user_location(scim_base_url),
        context.log_dir / f"{name}.log",
    )
    return Target(
        name=name,
        label=label,
        scim_base_url=scim_base_url,
        location_base_url=context.downstream_scim_url,
        headers=_reference_client_headers(),
        pid=process.pid,
    )


def _reference_client_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {fixtures.REFERENCE_CLIENT_TOKEN}"}


TargetStarter = Callable[[RunContext], Target]
