"""The ``scimrelay`` command: integration validation, storage and management.

These tests need no running server: the command works on the data folder.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.support.relay import Cli, describe_cli, relay_environment

TOKEN = f"cli-token-{secrets.token_hex(10)}"
HEADER_VALUE = f"cli-header-{secrets.token_hex(10)}"
SCIM_URL = "http://127.0.0.1:9/scim/v2"


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    root = tmp_path_factory.mktemp("cli")

    return Cli(relay_environment(root / "data", {}), cwd=root)


@pytest.fixture(scope="module")
def tenant_id(cli: Cli) -> str:
    return str(cli.json("tenant", "create", "cli-tenant")["id"])


def create_args(tenant_id: str, *options: str) -> list[str]:
    return [
        "integration",
        "create",
        "--tenant",
        tenant_id,
        "--name",
        f"cli-{secrets.token_hex(4)}",
        *options,
    ]


@pytest.fixture(scope="module")
def integration(
    cli: Cli, tenant_id: str, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    """An integration created with a token file and a custom header."""
    token_file = tmp_path_factory.mktemp("token") / "token.txt"
    token_file.write_text(TOKEN + "\n")
    options = ["--scim-url", SCIM_URL, "--token-file", str(token_file)]
    options += ["--secret-header", f"X-Api-Secret: {HEADER_VALUE}"]

    return cli.json(*create_args(tenant_id, *options))


def test_tenant_list_includes_created_tenant(cli: Cli, tenant_id: str) -> None:
    tenants = cli.json("tenant", "list")

    assert tenant_id in {tenant["id"] for tenant in tenants}


def test_create_returns_documented_keys(integration: dict[str, Any]) -> None:
    assert integration["id"]
    assert integration["api_key"]
    assert integration["scim_base_path"] == f"/scim/v2/{integration['id']}"
    assert integration["notices"] == []


def test_show_hides_token_and_secret_header(cli: Cli, integration: Any) -> None:
    completed = cli.run("integration", "show", integration["id"], "--json")

    assert completed.returncode == 0, describe_cli(completed)
    assert TOKEN not in completed.stdout
    assert HEADER_VALUE not in completed.stdout
    assert integration["api_key"] not in completed.stdout


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (["--scim-url", "ftp://127.0.0.1/scim/v2"], "scim_url"),
        (["--scim-url", "http://user:pw@127.0.0.1/scim/v2"], "scim_url"),
        (["--scim-url", SCIM_URL, "--header", "no colon here"], "headers"),
        (
            ["--scim-url", SCIM_URL]
            + [f"--header=X-Extra-{number}: value" for number in range(6)],
            "headers",
        ),
        (["--scim-url", SCIM_URL, "--header", "Authorization: Bearer x"], "headers"),
        (
            ["--scim-url", SCIM_URL, "--group-description", "Made by {nobody}"],
            "group_description",
        ),
    ],
    ids=[
        "ftp url",
        "url with credentials",
        "header without colon",
        "six headers",
        "authorization header",
        "unknown placeholder",
    ],
)
def test_create_rejects_invalid_setting(
    cli: Cli, tenant_id: str, options: list[str], field: str
) -> None:
    completed = cli.run(*create_args(tenant_id, *options, "--token-stdin"), input=TOKEN)

    assert completed.returncode == 2, describe_cli(completed)
    assert field in completed.stderr


def test_rejected_create_stores_nothing(
    cli: Cli, tenant_id: str, integration: dict[str, Any]
) -> None:
    before = cli.json("integration", "list")
    options = ["--scim-url", "ftp://127.0.0.1/scim/v2", "--token-stdin"]
    completed = cli.run(*create_args(tenant_id, *options), input=TOKEN)
    after = cli.json("integration", "list")

    assert completed.returncode == 2, describe_cli(completed)
    assert len(after) == len(before)


def test_update_changes_scim_url(cli: Cli, integration: dict[str, Any]) -> None:
    new_url = "http://127.0.0.1:9/v2"
    cli.json("integration", "update", integration["id"], "--scim-url", new_url)
    details = cli.json("integration", "show", integration["id"])

    assert details["scim_url"] == new_url


def test_delete_removes_integration(cli: Cli, tenant_id: str) -> None:
    options = ["--scim-url", SCIM_URL, "--token-stdin"]
    created = cli.json(*create_args(tenant_id, *options), input=TOKEN)
    cli.json("integration", "delete", created["id"])
    remaining = cli.json("integration", "list")
    lookup = cli.run("integration", "show", created["id"], "--json")

    assert created["id"] not in {item["id"] for item in remaining}
    assert lookup.returncode != 0


def test_cli_changes_are_audited(cli: Cli, tenant_id: str) -> None:
    options = ["--scim-url", SCIM_URL, "--token-stdin"]
    created = cli.json(*create_args(tenant_id, *options), input=TOKEN)
    cli.run("integration", "update", created["id"], "--token-stdin", input=TOKEN)
    cli.json("integration", "rotate-key", created["id"])
    cli.json("integration", "delete", created["id"])
    completed = cli.run("audit", "--json", "--limit", "100")
    events = cli.json("audit", "--limit", "100")
    actions = {e["action"] for e in events if e["target_id"] == created["id"]}

    assert completed.returncode == 0, describe_cli(completed)
    assert {
        "integration.create",
        "integration.update",
        "key.rotate",
        "integration.delete",
    } <= actions
    assert {e["via"] for e in events} == {"cli"}
    assert TOKEN not in completed.stdout
    assert created["api_key"] not in completed.stdout
