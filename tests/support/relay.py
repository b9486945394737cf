"""Run scimrelay as a real process and drive it through its command line.

:func:`start_relay` makes a data folder, creates a tenant and an integration with
the ``scimrelay`` command, starts ``scimrelay serve`` on a free loopback port
and returns a :class:`Relay` to send SCIM requests and run CLI commands with.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.processes import ManagedProcess, child_environment, start_server

CLI_TIMEOUT = 60.0
HEALTH_TIMEOUT = 15.0
LOG_FLUSH_TIMEOUT = 10.0
CONFIG_RELOAD_TIMEOUT = 10.0
PROBE_HEADERS = {"Content-Type": "application/scim+json"}


def scimrelay_command() -> list[str]:
    """Return the command line of the installed ``scimrelay`` entry point."""
    beside_python = Path(sys.executable).parent / "scimrelay"
    if beside_python.exists():
        return [str(beside_python)]

    found = shutil.which("scimrelay")
    assert found, "the scimrelay command is not installed: pip install -e '.[test]'"

    return [found]


def relay_environment(data_dir: Path, extra: Mapping[str, str]) -> dict[str, str]:
    """Return an environment with only the relay settings the test chose."""
    env = {
        name: value
        for name, value in child_environment().items()
        if not name.startswith("SCIMRELAY_")
    }
    env["SCIMRELAY_DATA_DIR"] = str(data_dir)
    env["SCIMRELAY_ALLOW_PRIVATE_DOWNSTREAMS"] = "true"
    env["SCIMRELAY_LOG_FORMAT"] = "json"
    env.update(extra)

    return env


@dataclass(frozen=True)
class Cli:
    """The ``scimrelay`` command with a fixed environment."""

    env: Mapping[str, str]
    cwd: Path

    def run(
        self, *args: str, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``scimrelay ARGS`` and return the completed process, any exit code."""
        return subprocess.run(
            [*scimrelay_command(), *args],
            env=dict(self.env),
            cwd=self.cwd,
            input=input,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )

    def json(self, *args: str, input: str | None = None) -> Any:
        """Run ``scimrelay ARGS --json``, check it exits 0 and decode stdout."""
        completed = self.run(*args, "--json", input=input)
        assert completed.returncode == 0, describe_cli(completed)

        return json.loads(completed.stdout)


def describe_cli(completed: subprocess.CompletedProcess[str]) -> str:
    """Return a failed command with its exit code and output, for assertions."""
    command = " ".join(completed.args)

    return (
        f"{command} exited with {completed.returncode}\n"
        f"stdout: {completed.stdout}\nstderr: {completed.stderr}"
    )


@dataclass
class Relay:
    """A running relay with one tenant and one integration created at start."""

    cli: Cli
    data_dir: Path
    tenant_id: str
    integration: dict[str, Any]
    process: ManagedProcess | None = None

    @property
    def base_url(self) -> str:
        assert self.process is not None, "the relay is not serving"
        return self.process.url

    @property
    def env(self) -> Mapping[str, str]:
        """The environment of the server and of every CLI command."""
        return self.cli.env

    @property
    def integration_id(self) -> str:
        return str(self.integration["id"])

    @property
    def api_key(self) -> str:
        return str(self.integration["api_key"])

    @property
    def scim_url(self) -> str:
        return self.scim_url_of(self.integration)

    def scim_url_of(self, integration: Mapping[str, Any]) -> str:
        """Return the relay's SCIM base URL for ``integration``."""
        return self.base_url + str(integration["scim_base_path"])

    def client(
        self,
        api_key: str | None = None,
        integration: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> httpx.Client:
        """Return an HTTP client for an integration's SCIM base URL and key."""
        target = integration or self.integration
        key = api_key or str(target["api_key"])

        return httpx.Client(
            base_url=self.scim_url_of(target),
            headers={"Authorization": f"Bearer {key}"},
            trust_env=False,
            timeout=30.0,
            **options,
        )

    def create_integration(
        self,
        scim_url: str,
        token: str,
        *,
        headers: Iterable[str] = (),
        options: Sequence[str] = (),
        name: str | None = None,
    ) -> dict[str, Any]:
        """Create another integration in the relay's tenant and return its JSON."""
        args = [
            "integration",
            "create",
            "--tenant",
            self.tenant_id,
            "--name",
            name or f"integration-{secrets.token_hex(4)}",
            "--scim-url",
            scim_url,
            "--token-stdin",
        ]
        for header in headers:
            args += ["--header", header]

        integration: dict[str, Any] = self.cli.json(*args, *options, input=token)
        if self.process is not None:
            self.wait_for_key(integration, str(integration["api_key"]), accepted=True)

        return integration

    def wait_for_key(
        self, integration: Mapping[str, Any], api_key: str, *, accepted: bool
    ) -> None:
        """Wait until the running relay accepts, or rejects, ``api_key``.

        The relay reloads integrations and keys from the store in the
        background, so a CLI change takes effect a moment later. The probe is a
        malformed POST, which the relay rejects without calling the downstream.
        """
        deadline = time.monotonic() + CONFIG_RELOAD_TIMEOUT
        with self.client(api_key, integration) as client:
            while True:
                response = client.post("/Users", content=b"{", headers=PROBE_HEADERS)
                if (response.status_code != 401) == accepted:
                    return

                assert time.monotonic() < deadline, (
                    f"the relay did not {'accept' if accepted else 'reject'} the "
                    f"key within {CONFIG_RELOAD_TIMEOUT} s: {response.status_code}"
                )
                time.sleep(0.1)

    def logs(self, integration_id: str | None = None, limit: int = 500) -> Any:
        """Return the request log entries, newest first, as ``scimrelay logs``."""
        args = ["logs", "--limit", str(limit)]
        if integration_id is not None:
            args += ["--integration", integration_id]

        return self.cli.json(*args)

    def wait_for_logs(
        self,
        accept: Callable[[list[dict[str, Any]]], bool],
        integration_id: str | None = None,
        timeout: float = LOG_FLUSH_TIMEOUT,
    ) -> list[dict[str, Any]]:
        """Poll ``scimrelay logs`` until ``accept`` returns True or time runs out.

        Returns the last entries read, so the caller's assertion shows them.
        """
        deadline = time.monotonic() + timeout
        entries: list[dict[str, Any]] = self.logs(integration_id)
        while not accept(entries) and time.monotonic() < deadline:
            time.sleep(0.25)
            entries = self.logs(integration_id)

        return entries

    def log_entry(self, request_id: str) -> dict[str, Any]:
        """Wait for the log entry of ``request_id`` and return it."""
        entries = self.wait_for_logs(
            lambda found: any(entry["request_id"] == request_id for entry in found)
        )
        matches = [entry for entry in entries if entry["request_id"] == request_id]
        assert matches, f"no log entry for request {request_id} in {entries[:5]}"

        return matches[0]

    def serve(self, log_dir: Path) -> None:
        """Start ``scimrelay serve`` and wait until ``/healthz`` returns 200."""

        def build_argv(port: int) -> list[str]:
            serve = ["serve", "--host", "127.0.0.1", "--port", str(port)]
            return [*scimrelay_command(), *serve]

        self.process = start_server(
            "scimrelay", build_argv, env=self.cli.env, log_dir=log_dir, cwd=self.cli.cwd
        )
        wait_until_healthy(self.process)

    def stop(self) -> int | None:
        """Stop the server with SIGTERM and return its exit code."""
        if self.process is None:
            return None

        return self.process.stop()

    def output(self) -> str:
        """Return everything the server printed."""
        return self.process.output() if self.process is not None else ""


def wait_until_healthy(process: ManagedProcess) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT
    last = "no answer"
    with httpx.Client(trust_env=False, timeout=2.0) as client:
        while time.monotonic() < deadline:
            try:
                response = client.get(process.url + "/healthz")
            except httpx.TransportError as error:
                last = repr(error)
            else:
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text[:200]}"
            time.sleep(0.1)

    raise AssertionError(f"/healthz did not return 200: {last}\n{process.describe()}")


def start_relay(
    root: Path,
    scim_url: str,
    token: str,
    *,
    headers: Iterable[str] = (),
    options: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> Relay:
    """Create a tenant and an integration in a new data folder, then serve."""
    data_dir = root / "data"
    cli = Cli(relay_environment(data_dir, env or {}), cwd=root)
    tenant = cli.json("tenant", "create", f"tenant-{secrets.token_hex(4)}")
    relay = Relay(
        cli=cli, data_dir=data_dir, tenant_id=str(tenant["id"]), integration={}
    )
    relay.integration = relay.create_integration(
        scim_url, token, headers=headers, options=options
    )
    relay.serve(root / "logs")

    return relay
