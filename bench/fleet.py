"""Many integrations on one relay, with requests spread over all of them.

The integrations are created through the service layer in one transaction
before the relay starts, as `scimrelay import` does. wrk then sends GET
/Users/{id} at c=32 either through one integration or through a random
integration and its key per request; both runs alternate on the same relay
process, so the ratio shows what the number of integrations costs. A first
pass sends one request to each integration in turn before any measured run,
so the measured runs see each integration's state already created, as a
relay that has served a while does. The first pass's own rate is reported.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from bench import fixtures
from bench.load import LoadSpec
from bench.measure import measured_load, wait_for_quiet
from bench.process import open_url
from bench.relay import launch_relay
from bench.scenarios import SCIM_CONTENT_TYPE
from bench.targets import RunContext

CONNECTIONS = 32
MAX_THROUGHPUT_LOSS = 0.10
# Integrations checked with one request each before the load.
CHECKED = 20
KINDS = ("single", "spread")
# Seconds allowed for the whole first pass.
FIRST_PASS_TIMEOUT_S = 600


def create_integrations(
    environment: dict[str, str], count: int, scim_url: str
) -> list[tuple[str, str]]:
    """Create `count` integrations in one transaction; return (id, API key) pairs."""
    # Imported here: the relay's modules take a second or two to import.
    from scimrelay.context import AppContext
    from scimrelay.integrations.service import IntegrationInput
    from scimrelay.integrations.validation import Header
    from scimrelay.settings import Settings

    context = AppContext.open(Settings.from_env(environment))
    service = context.service
    headers = [Header(name, value) for name, value in fixtures.CUSTOM_HEADERS.items()]
    created = []
    try:
        tenant = service.create_tenant(f"bench-fleet-{uuid.uuid4().hex[:8]}")
        with context.store.transaction():
            for number in range(count):
                data = IntegrationInput(
                    name=f"fleet {number}",
                    scim_url=scim_url,
                    token=fixtures.DOWNSTREAM_TOKEN,
                    headers=headers,
                )
                made = service.create_integration(tenant.id, data)
                created.append((made.integration.id, made.key.plaintext))
    finally:
        context.close()
    return created


def write_requests(path: Path, integrations: list[tuple[str, str]]) -> Path:
    """Write one GET of the benchmark user per integration for wrk_request.lua."""
    lines = [
        f"GET\t/scim/v2/{identifier}/Users/{fixtures.USER_ID}\tBearer {key}\t\n"
        for identifier, key in integrations
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines))
    return path


def run(
    context: RunContext,
    count: int,
    rounds: int,
    duration_s: int,
    warmup_s: int,
    quiet_wait_s: float,
) -> dict[str, Any]:
    """Measure GET c=32 through one integration and through all `count`."""
    integrations: list[tuple[str, str]] = []
    timing: dict[str, float] = {}

    def provision(environment: dict[str, str]) -> None:
        started = time.perf_counter()
        print(f"Creating {count - 1:,} more integrations", flush=True)
        made = create_integrations(environment, count - 1, context.downstream_scim_url)
        integrations.extend(made)
        timing["create_s"] = time.perf_counter() - started

    started = time.perf_counter()
    relay = launch_relay(context, "relay-integrations", 1, before_serve=provision)
    timing["ready_s"] = time.perf_counter() - started
    key = relay.target.headers["Authorization"].removeprefix("Bearer ")
    integrations.insert(0, (relay.integration_id, key))
    base_url = relay.target.scim_base_url.split("/scim/v2/")[0]
    _check(base_url, integrations)

    folder = context.workdir / "fleet"
    files = {
        "single": write_requests(folder / "single.tsv", integrations[:1]),
        "spread": write_requests(folder / "spread.tsv", integrations),
    }
    first_pass = asyncio.run(_first_pass(base_url, integrations))
    if warmup_s > 0:
        for kind in KINDS:
            measured_load(context, _spec(base_url, files[kind], warmup_s), None)
    runs = []
    for round_index in range(rounds):
        order = KINDS if round_index % 2 == 0 else KINDS[::-1]
        for kind in order:
            wait_for_quiet(quiet_wait_s)
            spec = _spec(base_url, files[kind], duration_s)
            run = {"kind": kind, **measured_load(context, spec, relay.target.pid)}
            _print(round_index + 1, rounds, run)
            runs.append(run)
    return {
        "integrations": len(integrations),
        "create_s": round(timing["create_s"], 1),
        "relay_ready_s": round(timing["ready_s"], 1),
        "connections": CONNECTIONS,
        "first_pass": first_pass,
        "runs": runs,
    }


async def _first_pass(
    base_url: str, integrations: list[tuple[str, str]]
) -> dict[str, Any]:
    """Send one GET to each integration over CONNECTIONS connections, and time it."""
    print(
        f"Sending one request to each of {len(integrations):,} integrations", flush=True
    )
    pending = iter(integrations)
    statuses: Counter[int] = Counter()
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    timeout = aiohttp.ClientTimeout(total=FIRST_PASS_TIMEOUT_S)

    async def send_each(session: aiohttp.ClientSession) -> None:
        for identifier, key in pending:
            url = f"{base_url}/scim/v2/{identifier}/Users/{fixtures.USER_ID}"
            headers = {"Authorization": f"Bearer {key}"}
            async with session.get(url, headers=headers) as response:
                await response.read()
                statuses[response.status] += 1

    started = time.perf_counter()
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, trust_env=False
    ) as session:
        await asyncio.gather(*(send_each(session) for _ in range(CONNECTIONS)))
    seconds = time.perf_counter() - started
    requests = sum(statuses.values())
    return {
        "requests": requests,
        "seconds": round(seconds, 2),
        "throughput_rps": round(requests / seconds, 1),
        "error_count": requests - statuses[200],
    }


def _spec(base_url: str, requests_file: Path, duration_s: int) -> LoadSpec:
    """Describe GET c=32 with random requests of `requests_file`."""
    return LoadSpec(
        url=base_url + "/",
        method="GET",
        headers={"Accept": SCIM_CONTENT_TYPE},
        body=None,
        connections=CONNECTIONS,
        threads=1,
        duration_s=duration_s,
        max_requests_per_thread=duration_s * 500_000,
        requests_file=requests_file,
    )


def _check(base_url: str, integrations: list[tuple[str, str]]) -> None:
    step = max(1, len(integrations) // CHECKED)
    for identifier, key in integrations[::step]:
        url = f"{base_url}/scim/v2/{identifier}/Users/{fixtures.USER_ID}"
        request = urllib.request.Request(
            url, headers={"Authorization": f"Bearer {key}"}
        )
        status, _headers, body = open_url(request)
        if status != 200:
            raise RuntimeError(f"GET {url} returned status {status}: {body[:300]!r}")


def _print(round_number: int, rounds: int, run: dict[str, Any]) -> None:
    errors = f"  ERRORS {run['errors']}" if run["error_count"] else ""
    print(
        f"round {round_number}/{rounds}  integrations {run['kind']:<6}"
        f" {run['throughput_rps']:>8,.0f} req/s"
        f"  other cores {run['cpu_cores'].get('other', 0.0):.2f}{errors}",
        flush=True,
    )


def medians(result: dict[str, Any]) -> dict[str, float]:
    """Return the median throughput of each kind of run."""
    return {
        kind: statistics.median(
            run["throughput_rps"] for run in result["runs"] if run["kind"] == kind
        )
        for kind in KINDS
    }


def cpu_per_request(result: dict[str, Any]) -> dict[str, float]:
    """Return the relay's median CPU time per request of each kind, in µs.

    It depends less than throughput on the CPU other processes take.
    """
    return {
        kind: statistics.median(
            run["cpu_cores"].get("target", 0.0) / run["throughput_rps"] * 1e6
            for run in result["runs"]
            if run["kind"] == kind and run["throughput_rps"]
        )
        for kind in KINDS
    }


def describe(result: dict[str, Any]) -> tuple[str, bool, list[tuple[str, str]]]:
    """Return the headline figure, whether it met the goal, and detail rows."""
    throughput = medians(result)
    cpu = cpu_per_request(result)
    ratio = throughput["spread"] / throughput["single"] if throughput["single"] else 0
    errors = sum(run["error_count"] for run in result["runs"])
    rounds = len(result["runs"]) // len(KINDS)
    details = [
        (
            "setup",
            f"{result['integrations']:,} integrations created in "
            f"{result['create_s']:.1f} s; relay ready "
            f"{result['relay_ready_s']:.1f} s after the start of the setup",
        ),
        (
            "GET c=32 through one integration",
            f"{throughput['single']:,.0f} req/s, relay CPU "
            f"{cpu['single']:,.0f} µs per request (medians of {rounds})",
        ),
        (
            "GET c=32 spread over all",
            f"{throughput['spread']:,.0f} req/s, relay CPU "
            f"{cpu['spread']:,.0f} µs per request (medians of {rounds})",
        ),
        (
            "relay CPU per request, spread / one integration",
            f"{cpu['spread'] / cpu['single']:.2f}" if cpu["single"] else "n/a",
        ),
        ("errors", str(errors)),
    ]
    first = result.get("first_pass")
    if first is not None:
        details.append(
            (
                "first request to each integration",
                f"{first['throughput_rps']:,.0f} req/s over {first['requests']:,} "
                f"requests, {first['error_count']} errors (before the measured runs)",
            )
        )
    measured = f"{ratio:.2f} of the single-integration throughput"
    return measured, ratio >= 1 - MAX_THROUGHPUT_LOSS and errors == 0, details


def other_cores(result: dict[str, Any]) -> float:
    return float(
        statistics.median(run["cpu_cores"].get("other", 0.0) for run in result["runs"])
    )
