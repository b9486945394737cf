"""Replay of a failed request from the log, linked to the original entry."""

from __future__ import annotations

from tests.conftest import RelayFactory
from tests.resilience.conftest import DOWNSTREAM_TOKEN, fault_stats
from tests.support.processes import ManagedProcess


def test_a_failed_request_replays_after_the_fix_and_links_entries(
    relay_factory: RelayFactory, faults: ManagedProcess
) -> None:
    relay = relay_factory(f"{faults.url}/html", DOWNSTREAM_TOKEN)
    with relay.client() as client:
        failed = client.post("/Users", json={"userName": "late"})
    original = relay.log_entry(failed.headers["x-request-id"])
    relay.cli.json(
        "integration",
        "update",
        str(relay.integration["id"]),
        "--scim-url",
        f"{faults.url}/replayed",
    )

    result = relay.cli.json("logs", "replay", str(original["id"]))

    assert failed.status_code == 502
    assert result["status"] == 201
    assert result["original_id"] == original["id"]
    replayed = relay.log_entry(result["request_id"])
    assert replayed["replay_of"] == original["id"]
    assert replayed["path"] == original["path"]
    assert fault_stats(faults)["replayed POST"] == 1


def test_a_successful_request_is_not_replayed_without_force(
    relay_factory: RelayFactory, faults: ManagedProcess
) -> None:
    relay = relay_factory(f"{faults.url}/ok", DOWNSTREAM_TOKEN)
    with relay.client() as client:
        done = client.post("/Users", json={"userName": "once"})
    entry = relay.log_entry(done.headers["x-request-id"])

    completed = relay.cli.run("logs", "replay", str(entry["id"]))

    assert completed.returncode == 1
    assert "pass --force" in completed.stderr
