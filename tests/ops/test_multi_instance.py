"""Three relay instances sharing one PostgreSQL database, as behind a load balancer.

Each instance is a real ``scimrelay serve`` process. Configuration changes are
made with the CLI against the shared database, as an operator would on any
instance, and must reach every instance within a second. The instances share
``SCIMRELAY_REDIS_URL``, so an integration's rate limit holds across them in
total.
"""

from __future__ import annotations

import secrets
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from tests.conftest import DownstreamFactory, ScimServer
from tests.support.cluster import instance, serve_instance, shared_store_cli
from tests.support.downstreams import recorded_request
from tests.support.postgres import temporary_database
from tests.support.processes import ManagedProcess
from tests.support.relay import Cli, Relay, describe_cli

pytestmark = pytest.mark.postgres

INSTANCES = 3
PROPAGATION_BOUND = 1.0
REDIS_ADDRESS = ("127.0.0.1", 6379)
LOAD_REQUESTS = 150
KILL_AFTER = 40
DAILY_BUDGET = 10
OVER_BUDGET = 8


@dataclass
class Cluster:
    cli: Cli
    tenant_id: str
    scim: dict[str, Any]
    echo: dict[str, Any]
    record: Path
    processes: list[ManagedProcess]
    database_url: str
    root: Path

    def relays(self, integration: dict[str, Any] | None = None) -> list[Relay]:
        """Return every instance, with clients for ``integration`` (default scim)."""
        return [
            instance(self.cli, process, self.tenant_id, integration or self.scim)
            for process in self.processes
        ]


def require_redis() -> None:
    with socket.create_connection(REDIS_ADDRESS, timeout=2) as connection:
        connection.sendall(b"PING\r\n")
        reply = connection.recv(16)
    assert reply.startswith(b"+PONG"), f"Redis at {REDIS_ADDRESS} replied {reply!r}"


@pytest.fixture(scope="module")
def cluster(
    scim_server: ScimServer,
    downstream_factory: DownstreamFactory,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Cluster]:
    require_redis()
    root = tmp_path_factory.mktemp("cluster")
    record = root / "echo-requests.jsonl"
    echo = downstream_factory("echo", "--record", str(record))
    with temporary_database() as database_url:
        redis = {"SCIMRELAY_REDIS_URL": "redis://127.0.0.1:6379/0"}
        cli = shared_store_cli(root, database_url, redis)
        tenant_id = str(cli.json("tenant", "create", "acme")["id"])
        setup = Relay(cli=cli, data_dir=root, tenant_id=tenant_id, integration={})
        scim = setup.create_integration(scim_server.new_tenant_url(), scim_server.token)
        echo_integration = setup.create_integration(f"{echo.url}/scim/v2", "t0ken")
        with ThreadPoolExecutor(INSTANCES) as pool:
            starts = [
                pool.submit(serve_instance, cli, root / f"logs-{number}")
                for number in range(INSTANCES)
            ]
            processes = [start.result() for start in starts]
        try:
            yield Cluster(
                cli,
                tenant_id,
                scim,
                echo_integration,
                record,
                processes,
                database_url,
                root,
            )
        finally:
            for process in processes:
                process.stop()


def user(number: int) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": f"user{number}-{secrets.token_hex(4)}@example.com",
        "active": True,
    }


def logged_ids(relay: Relay, integration_id: str, wanted: set[str]) -> set[str]:
    entries = relay.wait_for_logs(
        lambda found: wanted <= {entry["request_id"] for entry in found},
        integration_id=integration_id,
    )
    return {entry["request_id"] for entry in entries}


def test_instances_share_users_and_log(cluster: Cluster) -> None:
    relays = cluster.relays()
    created: list[tuple[str, str]] = []
    request_ids: set[str] = set()
    for number in range(2 * INSTANCES):
        with relays[number % INSTANCES].client() as client:
            response = client.post("/Users", json=user(number))
        assert response.status_code == 201, response.text
        created.append((response.json()["id"], response.json()["userName"]))
        request_ids.add(response.headers["x-request-id"])

    for number, (user_id, user_name) in enumerate(created):
        with relays[(number + 1) % INSTANCES].client() as client:
            response = client.get(f"/Users/{user_id}")
        assert response.status_code == 200, response.text
        assert response.json()["userName"] == user_name
        request_ids.add(response.headers["x-request-id"])

    logged = logged_ids(relays[0], cluster.scim["id"], request_ids)
    assert request_ids <= logged


def seconds_until_all(relays: list[Relay], seen: Callable[[Relay], bool]) -> float:
    """Poll every instance until ``seen`` holds on each; return the slowest's time."""
    started = time.monotonic()
    delays: dict[int, float] = {}
    while len(delays) < len(relays):
        pending = len(relays) - len(delays)
        assert time.monotonic() - started < 10, f"{pending} instances never changed"
        for index, relay in enumerate(relays):
            if index not in delays and seen(relay):
                delays[index] = time.monotonic() - started
        time.sleep(0.01)
    return max(delays.values())


def probe_header(relay: Relay, record: Path, name: str) -> str | None:
    """Return the value of header ``name`` that the echo downstream received.

    The relay masks header values in the response it returns, so the value is
    read from the echo downstream's record of the request.
    """
    with relay.client() as client:
        response = client.get("/Users")
    received = recorded_request(record, response.headers["x-request-id"])
    headers = {key.lower(): value for key, value in received["headers"]}
    return headers.get(name.lower())


def test_header_change_reaches_every_instance(cluster: Cluster) -> None:
    echoes = cluster.relays(cluster.echo)
    value = f"probe-{secrets.token_hex(4)}"

    completed = cluster.cli.run(
        "integration", "update", cluster.echo["id"], "--header", f"X-Probe: {value}"
    )
    assert completed.returncode == 0, describe_cli(completed)
    slowest = seconds_until_all(
        echoes, lambda relay: probe_header(relay, cluster.record, "X-Probe") == value
    )

    assert slowest < PROPAGATION_BOUND


def status_with_key(relay: Relay, api_key: str) -> int:
    with relay.client(api_key=api_key) as client:
        return client.get("/ServiceProviderConfig").status_code


def test_new_integration_and_revoked_key_reach_every_instance(
    cluster: Cluster,
) -> None:
    setup = cluster.relays()[0]
    added = setup.create_integration(cluster.echo["scim_url"], "t0ken")
    views = cluster.relays(added)
    old_key = str(added["api_key"])

    to_serve = seconds_until_all(
        views, lambda relay: status_with_key(relay, old_key) == 200
    )
    rotated = cluster.cli.json(
        "integration", "rotate-key", added["id"], "--revoke-previous"
    )
    to_revoke = seconds_until_all(
        views, lambda relay: status_with_key(relay, old_key) == 401
    )

    assert to_serve < PROPAGATION_BOUND
    assert to_revoke < PROPAGATION_BOUND
    assert all(status_with_key(relay, rotated["api_key"]) == 200 for relay in views)


def stored_config_version(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            version = connection.scalar(text("SELECT config_version FROM store_state"))
    finally:
        engine.dispose()
    return int(version)


def loaded_config_version(relay: Relay) -> float:
    """Return the configuration version an instance reports in its metrics."""
    with httpx.Client(trust_env=False, timeout=10) as client:
        text_format = client.get(f"{relay.base_url}/metrics").text
    for family in text_string_to_metric_families(text_format):
        for sample in family.samples:
            if sample.name == "scimrelay_config_version":
                return sample.value
    return -1.0


def test_shared_rate_limit_holds_in_total(cluster: Cluster) -> None:
    setup = cluster.relays()[0]
    added = setup.create_integration(cluster.echo["scim_url"], "t0ken")
    cluster.cli.json(
        "integration", "limits", added["id"], "--per-day", str(DAILY_BUDGET)
    )
    version = stored_config_version(cluster.database_url)
    views = cluster.relays(added)
    seconds_until_all(views, lambda relay: loaded_config_version(relay) >= version)

    statuses = Counter(
        status_with_key(views[number % INSTANCES], str(added["api_key"]))
        for number in range(DAILY_BUDGET + OVER_BUDGET)
    )

    assert statuses == {200: DAILY_BUDGET, 429: OVER_BUDGET}


@dataclass
class FailoverLoad:
    """Sends requests round robin, skipping instances that stop answering."""

    relays: list[Relay]
    answered: list[tuple[str, int]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    down: set[int] = field(default_factory=set)
    progress: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, total: int, workers: int = 4) -> None:
        clients = [relay.client() for relay in self.relays]
        try:
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(lambda number: self._send(clients, number), range(total)))
        finally:
            for client in clients:
                client.close()

    def _send(self, clients: list[httpx.Client], number: int) -> None:
        for attempt in range(len(clients)):
            index = (number + attempt) % len(clients)
            if index in self.down:
                continue
            try:
                response = clients[index].get("/Users", params={"count": "1"})
            except httpx.TransportError:
                self.down.add(index)
                continue
            if response.status_code != 200:
                self.failed.append(
                    f"{number}: {response.status_code} {response.text[:200]}"
                )
                return
            with self.lock:
                self.answered.append((response.headers["x-request-id"], index))
                if len(self.answered) >= KILL_AFTER:
                    self.progress.set()
            return
        self.failed.append(f"{number}: no instance answered")


def test_killed_instance_loses_no_answered_request(cluster: Cluster) -> None:
    relays = cluster.relays()
    load = FailoverLoad(relays)
    sender = threading.Thread(target=load.run, args=(LOAD_REQUESTS,))
    sender.start()
    assert load.progress.wait(60), "the load never got going"
    cluster.processes[-1].signal(signal.SIGKILL)
    sender.join(120)
    # A new instance on the same data folder copies the killed one's spool.
    replacement = serve_instance(cluster.cli, cluster.root / "logs-replacement")
    cluster.processes.append(replacement)

    answered = {rid for rid, _ in load.answered}
    by_killed = [rid for rid, index in load.answered if index == INSTANCES - 1]
    assert load.failed == []
    assert len(load.answered) == LOAD_REQUESTS
    assert by_killed, "the killed instance had answered nothing before the kill"
    assert load.down == {INSTANCES - 1}
    assert answered <= logged_ids(relays[0], cluster.scim["id"], answered)
