"""A clean shutdown writes every pending request log entry before the relay exits."""

from __future__ import annotations

import signal

import pytest

from tests.conftest import RelayFactory

REQUESTS = 60
EXIT_TIMEOUT = 15.0


@pytest.mark.parametrize(
    "signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"]
)
def test_log_survives_clean_shutdown(
    relay_factory: RelayFactory, signum: signal.Signals
) -> None:
    relay = relay_factory()
    assert relay.process is not None
    with relay.client() as client:
        answered = [
            client.get("/Users", params={"count": "1"}).headers["x-request-id"]
            for _ in range(REQUESTS)
        ]

    relay.process.signal(signum)
    relay.process.wait(timeout=EXIT_TIMEOUT)
    logged = {entry["request_id"] for entry in relay.logs(limit=REQUESTS * 2)}

    assert len(set(answered)) == REQUESTS
    assert set(answered) - logged == set()
