"""Drive directory syncs through the ``scimrelay`` command, and read the result.

:class:`SyncDriver` sets an integration's Google source and runs
``scimrelay sync run|preview|status`` as separate processes, the way an
operator would. Creating integrations and reading runs, which the tests only
need done, go through the project's service layer on the relay's store, which
saves a process start each. :func:`list_resources` reads a SCIM server's users or groups
directly, to check what a sync left there; :func:`build_staff` makes a plain
workspace of any size.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx

from scimrelay.context import AppContext
from scimrelay.integrations.service import IntegrationInput
from scimrelay.integrations.validation import parse_header_line
from scimrelay.settings import Settings
from scimrelay.sync.service import SourceService
from tests.support.google import FakeGoogle, ServiceAccount, Workspace
from tests.support.relay import Relay, describe_cli, scimrelay_command

WAIT_TIMEOUT = 60.0


@dataclass
class SyncDriver:
    relay: Relay
    fake: FakeGoogle
    account: ServiceAccount
    key_dir: Path
    opened: list[AppContext] = field(default_factory=list)

    @cached_property
    def context(self) -> AppContext:
        """Open the relay's store, as one more relay process would."""
        context = AppContext.open(Settings.from_env(self.relay.cli.env))
        self.opened.append(context)
        return context

    def close(self) -> None:
        for context in self.opened:
            context.close()

    def key_file(self, account: ServiceAccount | None = None) -> Path:
        """Write a service-account key whose token_uri is the fake's."""
        chosen = account or self.account
        path = self.key_dir / f"{chosen.client_id}.json"
        path.write_text(chosen.key_json(self.fake.token_uri))
        return path

    def set_source(
        self,
        integration_id: str,
        workspace: Workspace,
        *options: str,
        account: ServiceAccount | None = None,
        by_domain: bool = False,
    ) -> dict[str, Any]:
        """Set the integration's Google source for ``workspace``; runs on demand.

        The source names the workspace by customer ID, or by domain.
        """
        self.fake.load(workspace)
        args = [
            "source",
            "google",
            "set",
            integration_id,
            "--key-file",
            str(self.key_file(account)),
            "--subject",
            admin_of(workspace),
            *(
                ("--domain", workspace.domain)
                if by_domain
                else ("--customer", workspace.customer_id)
            ),
            "--api-url",
            self.fake.url,
            *options,
        ]
        if "--interval" not in options:
            args += ["--interval", "0"]
        source: dict[str, Any] = self.relay.cli.json(*args)
        return source

    def run(self, integration_id: str) -> tuple[int, dict[str, Any]]:
        """Run ``scimrelay sync run --json``; return the exit code and report."""
        completed = self.relay.cli.run("sync", "run", integration_id, "--json")
        assert completed.stdout, describe_cli(completed)
        return completed.returncode, json.loads(completed.stdout)

    def start_run(self, integration_id: str) -> subprocess.Popen[str]:
        """Start ``scimrelay sync run --json`` without waiting for it."""
        return subprocess.Popen(
            [*scimrelay_command(), "sync", "run", integration_id, "--json"],
            env=dict(self.relay.cli.env),
            cwd=self.relay.cli.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def preview(self, integration_id: str) -> dict[str, Any]:
        plan: dict[str, Any] = self.relay.cli.json("sync", "preview", integration_id)
        return plan

    def status(self, integration_id: str) -> list[dict[str, Any]]:
        """Return the runs that ``scimrelay sync status --json`` prints."""
        status = self.relay.cli.json("sync", "status", integration_id, "--limit", "50")
        runs: list[dict[str, Any]] = status["runs"]
        return runs

    def runs(self, integration_id: str) -> list[dict[str, Any]]:
        """Return the integration's runs, newest first, from the store."""
        service = SourceService(self.context.store, self.context.keyring)
        return [report.to_dict() for report in service.runs(integration_id, 50)]

    def new_integration(
        self,
        scim_url: str,
        token: str,
        *headers: str,
        group_description: str | None = None,
    ) -> str:
        """Create an integration in the relay's tenant and return its id."""
        data = IntegrationInput(
            name=f"sync-{secrets.token_hex(3)}",
            scim_url=scim_url,
            token=token,
            headers=[parse_header_line(line) for line in headers],
            group_description=group_description,
        )
        created = self.context.service.create_integration(self.relay.tenant_id, data)
        return created.integration.id


def admin_of(workspace: Workspace) -> str:
    """Return the email of the workspace's first administrator."""
    return next(u["primaryEmail"] for u in workspace.users.values() if u["isAdmin"])


def list_resources(client: httpx.Client, resource: str) -> list[dict[str, Any]]:
    """Read every page of ``/Users`` or ``/Groups`` from a SCIM server."""
    found: list[dict[str, Any]] = []
    while True:
        response = client.get(
            f"/{resource}", params={"startIndex": len(found) + 1, "count": 1000}
        )
        assert response.status_code == 200, response.text
        page = response.json()
        found.extend(page.get("Resources", []))
        if not page.get("Resources") or len(found) >= page["totalResults"]:
            return found


def count_resources(client: httpx.Client, resource: str) -> int:
    response = client.get(f"/{resource}", params={"count": 1})
    assert response.status_code == 200, response.text
    return int(response.json()["totalResults"])


def build_staff(customer_id: str, size: int = 600) -> Workspace:
    """An admin at the root and ``size`` people in /Staff, all in one group."""
    workspace = Workspace(customer_id, f"{customer_id.lower()}.example")
    workspace.add_user("admin", "/", admin=True)
    group = workspace.add_group("staff", "Staff")
    for index in range(size):
        workspace.add_member(group, workspace.add_user(f"p{index:04d}", "/Staff"))
    return workspace


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` until it holds; fail after WAIT_TIMEOUT seconds."""
    deadline = time.monotonic() + WAIT_TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting until {what}"
        time.sleep(0.05)
