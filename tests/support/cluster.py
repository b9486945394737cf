"""Relay instances that share one store, as behind a load balancer.

:func:`shared_store_cli` returns the ``scimrelay`` command set up for a
PostgreSQL database and a master key that every instance uses, and
:func:`serve_instance` starts one more ``scimrelay serve`` with that command's
environment and any extra options (such as ``--workers``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet

from tests.support.processes import ManagedProcess, start_server
from tests.support.relay import (
    Cli,
    Relay,
    relay_environment,
    scimrelay_command,
    wait_until_healthy,
)


def shared_store_cli(
    root: Path, database_url: str, extra: Mapping[str, str] | None = None
) -> Cli:
    """Return the CLI for a shared database, with a new master key."""
    env = {
        "SCIMRELAY_DATABASE_URL": database_url,
        "SCIMRELAY_SECRET_KEY": Fernet.generate_key().decode(),
        **(extra or {}),
    }
    return Cli(relay_environment(root / "data", env), cwd=root)


def serve_instance(cli: Cli, log_dir: Path, *options: str) -> ManagedProcess:
    """Start ``scimrelay serve OPTIONS`` and wait until ``/healthz`` returns 200."""

    def build_argv(port: int) -> list[str]:
        serve = ["serve", "--host", "127.0.0.1", "--port", str(port), *options]
        return [*scimrelay_command(), *serve]

    process = start_server(
        "scimrelay", build_argv, env=cli.env, log_dir=log_dir, cwd=cli.cwd
    )
    wait_until_healthy(process)
    return process


def instance(
    cli: Cli, process: ManagedProcess, tenant_id: str, integration: dict[str, object]
) -> Relay:
    """Return a :class:`Relay` view of one instance, for its clients and logs."""
    return Relay(
        cli=cli,
        data_dir=Path(cli.env["SCIMRELAY_DATA_DIR"]),
        tenant_id=tenant_id,
        integration=dict(integration),
        process=process,
    )
