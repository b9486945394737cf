"""The request log survives its store: a locked database and ``kill -9``.

The ``kill -9`` test runs on SQLite and on a new PostgreSQL database.
"""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.conftest import RelayFactory
from tests.resilience.conftest import DOWNSTREAM_TOKEN
from tests.support.processes import ManagedProcess
from tests.support.relay import Relay

LOAD_SECONDS = 3.0
WORKERS = 8


def generate_load(relay: Relay, stop: threading.Event) -> list[str]:
    """Send GETs and POSTs until ``stop`` is set; return every answered request id."""
    answered: list[str] = []

    def worker() -> None:
        with relay.client() as client:
            while not stop.is_set():
                try:
                    if len(answered) % 2:
                        response = client.get("/Users")
                    else:
                        response = client.post("/Users", json={"userName": "load"})
                except httpx.TransportError:
                    continue  # Not answered: the relay was killed first.
                answered.append(response.headers["x-request-id"])

    with ThreadPoolExecutor(WORKERS) as pool:
        futures = [pool.submit(worker) for _ in range(WORKERS)]
        stop.wait(LOAD_SECONDS * 3)
    for future in futures:
        future.result()
    return answered


def logged_ids(relay: Relay) -> set[str]:
    return {entry["request_id"] for entry in relay.logs(limit=100_000)}


def test_kill_9_under_load_loses_no_answered_request(
    relay_factory: RelayFactory, faults: ManagedProcess, store_env: dict[str, str]
) -> None:
    relay = relay_factory(f"{faults.url}/ok", DOWNSTREAM_TOKEN, env=store_env)
    stop = threading.Event()
    killer = threading.Timer(LOAD_SECONDS, lambda: kill(relay, stop))
    killer.start()

    answered = generate_load(relay, stop)

    assert relay.process is not None and relay.process.wait() == -signal.SIGKILL
    relay.serve(relay.data_dir.parent / "logs-after-kill")
    try:
        deadline = time.monotonic() + 15
        while not set(answered) <= logged_ids(relay) and time.monotonic() < deadline:
            time.sleep(0.5)
        missing = set(answered) - logged_ids(relay)
    finally:
        relay.stop()
    assert len(answered) > 100
    assert missing == set()


def kill(relay: Relay, stop: threading.Event) -> None:
    assert relay.process is not None
    relay.process.signal(signal.SIGKILL)
    stop.set()


def test_locked_database_delays_the_log_but_not_the_answers(
    relay_factory: RelayFactory, faults: ManagedProcess
) -> None:
    relay = relay_factory(f"{faults.url}/ok", DOWNSTREAM_TOKEN)
    database = sqlite3.connect(relay.data_dir / "scimrelay.db", timeout=30)
    database.execute("BEGIN EXCLUSIVE")
    try:
        with relay.client() as client:
            answers = [client.get("/Users") for _ in range(20)]
        time.sleep(6.0)  # Longer than SQLite's busy timeout: writes fail meanwhile.
        with relay.client() as client:
            answers += [client.get("/Users") for _ in range(5)]
        spooled = spool_lines(relay.data_dir)
    finally:
        database.rollback()
        database.close()

    assert [answer.status_code for answer in answers] == [200] * 25
    assert spooled >= 25
    ids = {answer.headers["x-request-id"] for answer in answers}
    entries = relay.wait_for_logs(
        lambda found: ids <= {entry["request_id"] for entry in found}, timeout=20
    )
    assert ids <= {entry["request_id"] for entry in entries}
    assert "request log write failed" in relay.output()


def spool_lines(data_dir: Path) -> int:
    return sum(
        path.read_bytes().count(b"\n") for path in (data_dir / "spool").rglob("*.jsonl")
    )


def test_spool_is_emptied_after_a_clean_stop(
    relay_factory: RelayFactory, faults: ManagedProcess
) -> None:
    relay = relay_factory(f"{faults.url}/ok", DOWNSTREAM_TOKEN)
    with relay.client() as client:
        ids = {client.get("/Users").headers["x-request-id"] for _ in range(3)}

    relay.stop()

    assert list((relay.data_dir / "spool").iterdir()) == []
    assert ids <= {entry["request_id"] for entry in relay.logs()}
