"""The downstream address guard: refused at validation and at connect time.

No test connects to a refused address: validation is checked without DNS
(IP literals and local names), and the connect-time check uses a resolver
that maps a test name to a loopback listener that counts connections. The
connection test (``scimrelay integration test``) is held to the same rule.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from scimrelay import diagnostics
from scimrelay.context import AppContext
from scimrelay.errors import DownstreamRefused, SettingsError
from scimrelay.integrations.service import IntegrationInput
from scimrelay.relay import netguard
from scimrelay.relay.client import DownstreamClient
from scimrelay.settings import Settings
from tests.resilience.conftest import DOWNSTREAM_TOKEN, fault_stats
from tests.support.processes import ManagedProcess
from tests.support.relay import Cli, describe_cli, relay_environment

REFUSED_URLS = [
    "http://169.254.169.254/latest",
    "http://[fd00:ec2::254]/scim",
    "http://10.1.2.3/scim",
    "http://172.16.0.1/scim",
    "http://192.168.1.1/scim",
    "http://127.0.0.1:8080/scim",
    "http://localhost/scim",
    "http://api.localhost/scim",
    "http://[::1]/scim",
    "http://[::ffff:127.0.0.1]/scim",
    "http://100.64.0.1/scim",
    "http://224.0.0.1/scim",
    "http://0.0.0.0/scim",
    "http://240.0.0.1/scim",
    "http://metadata.google.internal/computeMetadata",
]


@pytest.fixture
def context(tmp_path: Path) -> Iterator[AppContext]:
    context = AppContext.open(Settings(data_dir=tmp_path))
    yield context
    context.close()


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_private_and_metadata_urls_are_refused_at_validation(
    context: AppContext, url: str
) -> None:
    tenant = context.service.create_tenant("guarded")
    data = IntegrationInput(name="app", scim_url=url, token="t0ken")

    with pytest.raises(SettingsError) as caught:
        context.service.create_integration(tenant.id, data)

    message = str(caught.value)
    assert message.startswith("scim_url: ")
    assert "SCIMRELAY_ALLOW_PRIVATE_DOWNSTREAMS=true" in message


def test_a_public_address_passes_validation() -> None:
    assert netguard.url_reason("93.184.216.34") is None
    assert netguard.url_reason("app.test", resolve=lambda _: ["93.184.216.34"]) is None


def test_a_name_resolving_to_a_private_address_is_refused_at_validation() -> None:
    reason = netguard.url_reason("app.test", resolve=lambda _: ["10.0.0.7"])

    assert reason == "it resolves to 10.0.0.7, and it is a private address"


class ChangingResolver(AbstractResolver):
    """Answers a public address first (validation), then loopback (rebinding)."""

    def __init__(self, port: int) -> None:
        self.port = port

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host="127.0.0.1",
                port=self.port,
                family=socket.AF_INET,
                proto=0,
                flags=0,
            )
        ]

    async def close(self) -> None:
        pass


class Listener:
    """A loopback socket that counts the connections made to it."""

    def __init__(self) -> None:
        self.accepted = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> int:
        async def on_connect(
            _reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            self.accepted += 1
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            await writer.drain()
            writer.close()

        self.server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def __aexit__(self, *_: object) -> None:
        assert self.server is not None
        self.server.close()


async def send_once(allow_private: bool, url_host: str) -> tuple[int, str]:
    """Call a test name through the relay's client; return connections, outcome."""
    listener = Listener()
    async with listener as port:
        client = DownstreamClient(
            5.0, allow_private=allow_private, resolver=ChangingResolver(port)
        )
        await client.start()
        try:
            response = await client.send("GET", f"http://{url_host}:{port}/", {}, None)
            outcome = str(response.status)
        except DownstreamRefused as error:
            outcome = error.detail
        finally:
            await client.close()
    return listener.accepted, outcome


def test_a_dns_answer_that_turns_private_is_refused_before_connecting() -> None:
    assert netguard.url_reason("app.test", resolve=lambda _: ["93.184.216.34"]) is None

    accepted, outcome = asyncio.run(send_once(False, "app.test"))

    assert accepted == 0
    assert outcome == (
        "the downstream SCIM server's address is not allowed: app.test: "
        "it is a loopback address"
    )


def test_a_literal_private_address_is_refused_before_connecting() -> None:
    accepted, outcome = asyncio.run(send_once(False, "127.0.0.1"))

    assert accepted == 0
    assert "127.0.0.1: it is a loopback address" in outcome


def test_private_downstreams_connect_when_allowed() -> None:
    accepted, outcome = asyncio.run(send_once(True, "app.test"))

    assert (accepted, outcome) == (1, "200")


async def check_once(
    allow_private: bool,
) -> tuple[int, diagnostics.ConnectionReport]:
    """Run the connection test on a test name and return connections and report."""
    listener = Listener()
    async with listener as port:
        guard = diagnostics.Guard(allow_private, ChangingResolver(port))
        report = await diagnostics.test_connection(
            f"http://app.test:{port}/scim/v2", "t0ken", [], guard=guard
        )
    return listener.accepted, report


def test_connection_test_rejects_loopback_dns_answer() -> None:
    accepted, report = asyncio.run(check_once(allow_private=False))

    assert accepted == 0
    assert not report.ok
    assert report.code == "address_not_allowed"
    assert "app.test" in report.message
    assert "it is a loopback address" in report.message
    assert "SCIMRELAY_ALLOW_PRIVATE_DOWNSTREAMS=true" in report.hint


def test_connection_test_allows_private_when_enabled() -> None:
    accepted, report = asyncio.run(check_once(allow_private=True))

    assert accepted == 2
    assert report.code == "ok"


def test_integration_test_rejects_localhost(
    tmp_path: Path, faults: ManagedProcess
) -> None:
    allowed = Cli(relay_environment(tmp_path / "data", {}), cwd=tmp_path)
    tenant = allowed.json("tenant", "create", "guarded")
    port = faults.url.rsplit(":", 1)[1]
    integration = allowed.json(
        "integration",
        "create",
        "--tenant",
        str(tenant["id"]),
        "--name",
        "on this machine",
        "--scim-url",
        f"http://localhost:{port}/localcheck",
        "--token-stdin",
        input=DOWNSTREAM_TOKEN,
    )
    strict_env = {**allowed.env, "SCIMRELAY_ALLOW_PRIVATE_DOWNSTREAMS": "false"}
    strict = Cli(strict_env, cwd=tmp_path)

    completed = strict.run("integration", "test", str(integration["id"]), "--json")

    assert completed.returncode == 1, describe_cli(completed)
    report = json.loads(completed.stdout)
    assert report["code"] == "address_not_allowed"
    assert "localhost: it names this machine" in report["message"]
    assert "localcheck GET" not in fault_stats(faults)
    assert allowed.json("integration", "test", str(integration["id"]))["ok"]
