"""Fixtures that start the real servers the end-to-end tests talk to.

One ``scim2-server`` process serves the whole session. It creates a tenant on
the first request to ``/<tenant>``, so each relay integration gets its own
empty store at ``/<tenant>/v2``. Relays and test downstreams live for one test
module and are stopped when it ends.
"""

from __future__ import annotations

import secrets
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support.downstreams import start_downstream
from tests.support.google import (
    READ_SCOPES,
    Google,
    make_service_account,
    start_fake_google,
)
from tests.support.processes import ManagedProcess, start_server
from tests.support.relay import Cli, Relay, start_relay


@dataclass(frozen=True)
class ScimServer:
    """The reference SCIM server process and the bearer token it accepts."""

    process: ManagedProcess
    token: str

    @property
    def url(self) -> str:
        return self.process.url

    def new_tenant_url(self) -> str:
        """Return the SCIM base URL of a tenant that no test has used yet."""
        return f"{self.url}/t{secrets.token_hex(6)}/v2"

    def client(self, base_url: str) -> httpx.Client:
        """Return a client that calls the server directly, with its token."""
        return httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {self.token}"},
            trust_env=False,
            timeout=30.0,
        )


def scim2_server_command() -> list[str]:
    beside_python = Path(sys.executable).parent / "scim2-server"
    found = (
        str(beside_python) if beside_python.exists() else shutil.which("scim2-server")
    )
    assert found, "scim2-server is not installed: pip install -e '.[test]'"

    return [found]


@pytest.fixture(scope="session")
def scim_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScimServer]:
    """Start one scim2-server for the session, with dynamic tenants."""
    token = f"downstream-token-{secrets.token_hex(12)}"

    def build_argv(port: int) -> list[str]:
        options = ["--dynamic-tenants", "--reverse-proxy", "--bearer-token", token]
        return [*scim2_server_command(), "--port", str(port), *options]

    log_dir = tmp_path_factory.mktemp("scim2-server")
    process = start_server("scim2-server", build_argv, log_dir=log_dir)
    yield ScimServer(process=process, token=token)
    process.stop()


# The fake returns 403 rateLimitExceeded to every seventh Directory API request.
RATE_LIMIT_EVERY = 7


@pytest.fixture(scope="session")
def google(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Google]:
    """Start the fake Google; one account may read everything, one only users."""
    fake = start_fake_google(tmp_path_factory.mktemp("fake-google"))
    account = make_service_account("scimrelay-sync")
    narrow = make_service_account("scimrelay-users-only")
    fake.load_accounts([(account, READ_SCOPES), (narrow, READ_SCOPES[:1])])
    fake.rate_limit_every(RATE_LIMIT_EVERY)
    yield Google(fake, account, narrow)
    fake.process.stop()


@dataclass
class RelayFactory:
    """Starts relays in fresh data folders and stops them all at teardown."""

    scim_server: ScimServer
    tmp_path_factory: pytest.TempPathFactory
    started: list[Relay] = field(default_factory=list)

    def __call__(
        self,
        scim_url: str | None = None,
        token: str | None = None,
        *,
        headers: Sequence[str] = (),
        options: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> Relay:
        """Start a relay whose first integration points at ``scim_url``.

        Without ``scim_url`` the integration points at a new scim2-server tenant.
        """
        relay = start_relay(
            self.tmp_path_factory.mktemp("relay"),
            scim_url or self.scim_server.new_tenant_url(),
            token or self.scim_server.token,
            headers=headers,
            options=options,
            env=env,
        )
        self.started.append(relay)

        return relay

    def restart(self, relay: Relay, env: Mapping[str, str]) -> Relay:
        """Stop ``relay`` and serve its data folder again with ``env`` changed."""
        relay.stop()
        restarted = Relay(
            cli=Cli({**relay.env, **env}, cwd=relay.cli.cwd),
            data_dir=relay.data_dir,
            tenant_id=relay.tenant_id,
            integration=relay.integration,
        )
        self.started.append(restarted)
        restarted.serve(relay.cli.cwd / f"logs-{len(self.started)}")

        return restarted

    def stop_all(self) -> None:
        for relay in self.started:
            relay.stop()


@pytest.fixture(scope="module")
def relay_factory(
    scim_server: ScimServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RelayFactory]:
    factory = RelayFactory(scim_server, tmp_path_factory)
    yield factory
    factory.stop_all()


@pytest.fixture(scope="module")
def relay(relay_factory: RelayFactory) -> Relay:
    """A relay whose integration forwards to a fresh scim2-server tenant."""
    return relay_factory()


@dataclass
class DownstreamFactory:
    """Starts test downstreams (see tests.support.downstreams) for one module."""

    log_dir: Path
    started: list[ManagedProcess] = field(default_factory=list)

    def __call__(self, kind: str, *options: str) -> ManagedProcess:
        process = start_downstream(kind, self.log_dir, *options)
        self.started.append(process)

        return process

    def stop_all(self) -> None:
        for process in self.started:
            process.stop()


@pytest.fixture(scope="module")
def downstream_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DownstreamFactory]:
    factory = DownstreamFactory(tmp_path_factory.mktemp("downstreams"))
    yield factory
    factory.stop_all()
