"""Graceful shutdown: SIGTERM stops new connections and finishes requests in flight."""

from __future__ import annotations

import signal
import threading
import time

import httpx

from tests.conftest import DownstreamFactory, RelayFactory
from tests.support.processes import port_accepts

DOWNSTREAM_DELAY = 3.0


def test_sigterm_finishes_request_in_flight(
    relay_factory: RelayFactory, downstream_factory: DownstreamFactory
) -> None:
    slow = downstream_factory("slow", "--delay", str(DOWNSTREAM_DELAY))
    relay = relay_factory(f"{slow.url}/scim/v2", "slow-token")
    process = relay.process
    assert process is not None
    answers: list[httpx.Response] = []

    def call() -> None:
        with relay.client() as client:
            answers.append(client.get("/Users"))

    in_flight = threading.Thread(target=call)
    in_flight.start()
    time.sleep(0.5)  # The relay is now waiting for the slow downstream.
    process.signal(signal.SIGTERM)
    deadline = time.monotonic() + DOWNSTREAM_DELAY
    while port_accepts(process.host, process.port) and time.monotonic() < deadline:
        time.sleep(0.02)
    still_running_when_closed = in_flight.is_alive()
    in_flight.join(30)

    assert not port_accepts(process.host, process.port)
    assert still_running_when_closed
    assert [answer.status_code for answer in answers] == [200]
    # uvicorn raises the caught SIGTERM again once its shutdown is complete.
    assert process.wait() in (0, -signal.SIGTERM)
    assert '"relay stopped"' in process.stderr()
    entry = relay.log_entry(answers[0].headers["x-request-id"])
    assert entry["status"] == 200
    assert entry["downstream_status"] == 200
