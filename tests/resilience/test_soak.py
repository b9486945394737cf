"""A soak test: steady load while the downstream flaps between healthy and failing.

The fault downstream's ``flappy`` path switches every ``PHASE_SECONDS``
between serving requests, returning 503 and closing connections without a
response, for about ``SCIMRELAY_SOAK_SECONDS`` (60 by default). Meanwhile
load threads send GETs and POSTs through one relay, and a watcher reads the
relay's memory and breaker gauge every second. A longer run, by hand:

    SCIMRELAY_SOAK_SECONDS=1800 .venv/bin/python -m pytest -s \
        tests/resilience/test_soak.py
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import RelayFactory
from tests.resilience.conftest import DOWNSTREAM_TOKEN, control
from tests.support.processes import ManagedProcess
from tests.support.relay import Relay

SOAK_SECONDS = float(os.environ.get("SCIMRELAY_SOAK_SECONDS", "60"))
PHASE_SECONDS = 5.0
FAILING_MODES = ("failing", "dropping")
LOAD_THREADS = 4
# A short pause between a thread's requests leaves CPU for the relay.
PAUSE_SECONDS = 0.01
BREAKER_FAILURES = 3
BREAKER_COOLDOWN = 1.0
ANSWERED_STATUSES = {200, 201, 502, 503}
LOG_FLUSH_WAIT = 60.0
# Between the first and last quarter the relay's resident memory moved by
# under 1 MiB in 60 s runs on two cores, which sent about 17,000 requests. A
# leak of 1.5 KiB per request, less than one request log entry, would add
# 12 MiB over the 8,000 requests between those quarters.
RSS_GROWTH_BOUND = 12 * 1024 * 1024
OPEN = 2.0
CLOSED = 0.0


@dataclass
class Load:
    """Threads that send requests until stopped and count every outcome."""

    relay: Relay
    stop: threading.Event
    sent: Counter[str] = field(default_factory=Counter)
    answers: list[tuple[str, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> None:
        with ThreadPoolExecutor(LOAD_THREADS) as pool:
            for future in [pool.submit(self._send) for _ in range(LOAD_THREADS)]:
                future.result()

    def _send(self) -> None:
        with self.relay.client() as client:
            number = 0
            while not self.stop.is_set():
                number += 1
                self._one(client, number)
                time.sleep(PAUSE_SECONDS)

    def _one(self, client: httpx.Client, number: int) -> None:
        method = "GET" if number % 2 else "POST"
        with self.lock:
            self.sent[method] += 1
        try:
            if method == "GET":
                response = client.get("/Users", params={"count": "1"})
            else:
                response = client.post("/Users", json={"userName": f"soak{number}"})
        except httpx.TransportError as error:
            with self.lock:
                self.errors.append(f"{method}: {error!r}")
            return
        with self.lock:
            self.answers.append(
                (response.headers["x-request-id"], response.status_code)
            )


@dataclass
class Watch:
    """The relay's resident memory and breaker gauge, read every second."""

    relay: Relay
    integration_id: str
    stop: threading.Event
    rss: list[int] = field(default_factory=list)
    gauge: list[float] = field(default_factory=list)

    def run(self) -> None:
        while not self.stop.wait(1.0):
            self.rss.append(resident_bytes(self.relay))
            self.gauge.append(
                metric(self.relay, "scimrelay_circuit_breaker_state")[
                    (("integration", self.integration_id),)
                ]
            )


def resident_bytes(relay: Relay) -> int:
    """Return the relay process's resident set size, from ``/proc`` (Linux)."""
    assert relay.process is not None
    status = f"/proc/{relay.process.pid}/status"
    with open(status, encoding="ascii") as lines:
        for line in lines:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS line in {status}")


def metric(relay: Relay, name: str) -> Counter[tuple[tuple[str, str], ...]]:
    """Return the samples of one metric from ``/metrics``, by sorted labels."""
    with httpx.Client(trust_env=False, timeout=10) as client:
        response = client.get(f"{relay.base_url}/metrics")
    assert response.status_code == 200
    samples: Counter[tuple[tuple[str, str], ...]] = Counter()
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == name:
                samples[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def flap(faults: ManagedProcess, phases: int) -> None:
    """Switch the downstream's mode each phase, starting and ending healthy."""
    for phase in range(phases):
        mode = "healthy" if phase % 2 == 0 else FAILING_MODES[phase // 2 % 2]
        control(faults, mode)
        time.sleep(PHASE_SECONDS)
    control(faults, "healthy")


def breaker_changes(relay: Relay, integration_id: str) -> dict[str, float]:
    samples = metric(relay, "scimrelay_circuit_breaker_changes_total")
    return {
        state: samples[(("integration", integration_id), ("state", state))]
        for state in ("open", "half_open", "closed")
    }


def quarter_growth(samples: list[int]) -> int:
    """Return how much the last quarter's median exceeds the first quarter's."""
    quarter = max(1, len(samples) // 4)
    first = statistics.median(samples[:quarter])
    last = statistics.median(samples[-quarter:])
    return int(last - first)


def logged_ids(relay: Relay, expected: set[str]) -> set[str]:
    """Poll the request log until it contains every expected id or time runs out."""
    deadline = time.monotonic() + LOG_FLUSH_WAIT
    limit = str(len(expected) + 1000)
    while True:
        entries = relay.cli.json(
            "logs", "--integration", relay.integration_id, "--limit", limit
        )
        found = {entry["request_id"] for entry in entries}
        if expected <= found or time.monotonic() > deadline:
            return found
        time.sleep(1.0)


def test_flapping_downstream_under_load(
    relay_factory: RelayFactory, faults: ManagedProcess
) -> None:
    relay = relay_factory(f"{faults.url}/flappy", DOWNSTREAM_TOKEN)
    relay.cli.json(
        "integration",
        "limits",
        relay.integration_id,
        "--breaker-failures",
        str(BREAKER_FAILURES),
        "--breaker-cooldown",
        str(BREAKER_COOLDOWN),
    )
    time.sleep(1.0)  # The relay reloads its configuration every 0.5 s.
    phases = int(SOAK_SECONDS / PHASE_SECONDS) | 1
    stop = threading.Event()
    load = Load(relay, stop)
    watch = Watch(relay, relay.integration_id, stop)
    with ThreadPoolExecutor(2) as pool:
        running = [pool.submit(load.run), pool.submit(watch.run)]
        try:
            flap(faults, phases)
        finally:
            stop.set()
        for future in running:
            future.result()
    changes = breaker_changes(relay, relay.integration_id)
    answered = {request_id for request_id, _ in load.answers}
    statuses = Counter(status for _, status in load.answers)
    growth = quarter_growth(watch.rss)
    logged = logged_ids(relay, answered)
    print(
        f"soak: {phases} phases, sent {dict(load.sent)}, statuses {dict(statuses)}, "
        f"breaker changes {changes}, RSS first {watch.rss[0]} last "
        f"{watch.rss[-1]} growth {growth} bytes"
    )

    failing_phases = phases // 2
    assert load.errors == []
    assert len(load.answers) == sum(load.sent.values())
    assert statuses[500] == 0
    assert set(statuses) <= ANSWERED_STATUSES, statuses
    assert statuses[200] > 0
    assert statuses[201] > 0
    assert changes["open"] >= failing_phases
    # The last healthy phase may end before its probe closes the breaker.
    assert changes["closed"] >= failing_phases - 1
    assert OPEN in watch.gauge
    assert CLOSED in watch.gauge
    assert growth < RSS_GROWTH_BOUND
    assert answered - logged == set()
