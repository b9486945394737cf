"""Provision and start the relay under test through its command-line interface."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet

from bench import fixtures
from bench.process import (
    LOOPBACK,
    child_environment,
    free_port,
    start_process,
    wait_until_ready,
)
from bench.targets import RunContext, Target

CLI_TIMEOUT_S = 120


@dataclass(frozen=True)
class RelayProcess:
    """A relay started by the benchmark, with the settings it runs under."""

    target: Target
    environment: dict[str, str]
    integration_id: str


def start_relay(context: RunContext) -> Target:
    """Create a tenant and an integration in a fresh data dir, then serve."""
    relay = launch_relay(context, "relay", context.relay_workers, context.database_url)
    return relay.target


def launch_relay(
    context: RunContext,
    name: str,
    workers: int,
    database_url: str | None = None,
    before_serve: Callable[[dict[str, str]], None] | None = None,
    scim_url: str | None = None,
) -> RelayProcess:
    """Provision one integration in the data dir NAME-data, then serve.

    The integration points at `scim_url`, by default the fixed downstream.
    `before_serve` gets the relay's settings once the integration exists, to
    add more configuration before the relay reads it.
    """
    port = free_port()
    public_url = f"http://{LOOPBACK}:{port}"
    environment = relay_environment(context, public_url, name, database_url)
    integration = provision_integration(context, environment, scim_url)
    if before_serve is not None:
        before_serve(environment)

    command = [*relay_command(), "serve", "--host", LOOPBACK, "--port", str(port)]
    if workers > 1:
        command += ["--workers", str(workers)]
    process = start_process(context.stack, name, command, context.log_dir, environment)
    wait_until_ready(
        process, f"{public_url}/healthz", context.log_dir / f"{name}.log", 180
    )

    scim_base_path = integration.get("scim_base_path") or (
        f"/scim/v2/{integration['id']}"
    )
    scim_base_url = public_url + str(scim_base_path).rstrip("/")
    target = Target(
        name=name,
        label="scimrelay",
        scim_base_url=scim_base_url,
        location_base_url=scim_base_url,
        headers={"Authorization": f"Bearer {integration['api_key']}"},
        pid=process.pid,
    )
    return RelayProcess(target, environment, str(integration["id"]))


def relay_command() -> list[str]:
    return [sys.executable, "-m", "scimrelay"]


def relay_environment(
    context: RunContext,
    public_url: str,
    name: str = "relay",
    database_url: str | None = None,
) -> dict[str, str]:
    """Return the relay's settings: a fresh data dir, JSON logs and its store."""
    data_dir = context.workdir / f"{name}-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    environment = {
        "SCIMRELAY_DATA_DIR": str(data_dir),
        "SCIMRELAY_ALLOW_PRIVATE_DOWNSTREAMS": "true",
        "SCIMRELAY_PUBLIC_URL": public_url,
        "SCIMRELAY_LOG_FORMAT": "json",
    }
    if database_url:
        environment["SCIMRELAY_DATABASE_URL"] = database_url
        # A shared database needs an explicit key for the stored downstream
        # tokens; a fresh one per run keeps earlier runs' rows unreadable.
        environment["SCIMRELAY_SECRET_KEY"] = Fernet.generate_key().decode()
    environment.update(context.relay_settings)
    return environment


def provision_integration(
    context: RunContext, environment: dict[str, str], scim_url: str | None = None
) -> dict[str, Any]:
    """Create a tenant and an integration pointing at the downstream."""
    # A unique tenant name lets repeated runs share one PostgreSQL database.
    tenant = run_cli(
        ["tenant", "create", f"bench-{uuid.uuid4().hex[:8]}", "--json"], environment
    )
    arguments = [
        "integration",
        "create",
        "--tenant",
        str(tenant["id"]),
        "--name",
        "bench",
        "--scim-url",
        scim_url or context.downstream_scim_url,
        "--token-stdin",
    ]
    for name, value in fixtures.CUSTOM_HEADERS.items():
        arguments += ["--header", f"{name}: {value}"]
    arguments.append("--json")
    return run_cli(arguments, environment, stdin=fixtures.DOWNSTREAM_TOKEN + "\n")


def run_cli(
    arguments: list[str], environment: dict[str, str], stdin: str = ""
) -> dict[str, Any]:
    """Run a `scimrelay` subcommand and return the JSON object it prints."""
    completed = subprocess.run(
        [*relay_command(), *arguments],
        input=stdin,
        capture_output=True,
        text=True,
        env=child_environment(environment),
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"scimrelay {' '.join(arguments[:2])} failed with status "
            f"{completed.returncode}:\n{completed.stderr}{completed.stdout}"
        )
    try:
        document = json.loads(completed.stdout)
    except json.JSONDecodeError as error:
        raise RuntimeError(
            f"scimrelay {' '.join(arguments[:2])} printed no JSON object: "
            f"{completed.stdout!r}"
        ) from error
    if not isinstance(document, dict):
        raise RuntimeError(f"expected a JSON object, got {completed.stdout!r}")
    return document
