"""Runs against a downstream without PATCH, an archived user, a spent budget."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import RelayFactory, ScimServer
from tests.support.adapted_downstreams import start_adapted
from tests.support.google import Google, Workspace
from tests.support.processes import ManagedProcess
from tests.support.sync import SyncDriver, build_staff, list_resources

DAILY_BUDGET = 20
STAFF = 30


@pytest.fixture(scope="module")
def driver(
    google: Google,
    relay_factory: RelayFactory,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SyncDriver]:
    relay = relay_factory(env={"SCIMRELAY_GOOGLE_RETRY_SECONDS": "0.01"})
    keys = tmp_path_factory.mktemp("keys")
    driver = SyncDriver(relay, google.fake, google.account, keys)
    yield driver
    driver.close()


@pytest.fixture(scope="module")
def no_patch_front(
    scim_server: ScimServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ManagedProcess]:
    """A front of scim2-server that returns 501 to PATCH and announces no PATCH."""
    log_dir = tmp_path_factory.mktemp("no-patch")
    front = start_adapted(
        "limited", log_dir, scim_server.url, scim_server.token, "--no-patch"
    )
    yield front
    front.stop()


def small_workspace(people: int) -> tuple[Workspace, list[dict[str, Any]]]:
    customer = f"C0{secrets.token_hex(4)}"
    workspace = Workspace(customer, f"{customer.lower()}.example")
    workspace.add_user("admin", "/", admin=True)
    staff = [workspace.add_user(f"p{index}", "/Staff") for index in range(people)]
    return workspace, staff


def by_name(resources: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {str(resource[key]): resource for resource in resources}


def test_group_members_change_without_patch(
    driver: SyncDriver, scim_server: ScimServer, no_patch_front: ManagedProcess
) -> None:
    direct_url = scim_server.new_tenant_url()
    url = no_patch_front.url + direct_url[len(scim_server.url) :]
    integration = driver.new_integration(url, scim_server.token)
    workspace, staff = small_workspace(4)
    team = workspace.add_group("team", "Team")
    for person in staff[:3]:
        workspace.add_member(team, person)
    driver.set_source(integration, workspace, "--org-unit=/Staff")
    first_code, first = driver.run(integration)
    workspace.remove_member(team, staff[0])
    workspace.add_member(team, staff[3])
    team["name"] = "Team renamed"
    driver.fake.load(workspace)

    code, second = driver.run(integration)
    with scim_server.client(direct_url) as direct:
        users = by_name(list_resources(direct, "Users"), "id")
        groups = list_resources(direct, "Groups")
    entries = driver.relay.wait_for_logs(
        lambda found: any(e["method"] == "PUT" for e in found), integration
    )

    assert (first_code, first["status"], first["groups"]["created"]) == (
        0,
        "succeeded",
        1,
    )
    assert (code, second["status"], second["failed"]) == (0, "succeeded", 0)
    assert second["groups"]["updated"] == 1
    assert second["groups"]["members_added"] == 1
    assert second["groups"]["members_removed"] == 1
    assert [group["displayName"] for group in groups] == ["Team renamed"]
    members = {users[m["value"]]["userName"] for m in groups[0]["members"]}
    assert members == {person["primaryEmail"] for person in staff[1:]}
    assert all(entry["downstream_status"] != 501 for entry in entries)
    assert all(entry["source"] == "sync:google" for entry in entries)


def test_archived_user_becomes_inactive(
    driver: SyncDriver, scim_server: ScimServer
) -> None:
    url = scim_server.new_tenant_url()
    integration = driver.new_integration(url, scim_server.token)
    workspace, staff = small_workspace(3)
    driver.set_source(integration, workspace, "--org-unit=/Staff", "--no-groups")
    driver.run(integration)
    staff[1]["archived"] = True
    driver.fake.load(workspace)

    preview = driver.preview(integration)
    code, report = driver.run(integration)
    code_again, again = driver.run(integration)
    with scim_server.client(url) as direct:
        users = by_name(list_resources(direct, "Users"), "userName")

    archived = staff[1]["primaryEmail"]
    assert [change["action"] for change in preview["changes"]] == ["deactivate"]
    assert preview["changes"][0]["user_name"] == archived
    assert (code, report["deactivated"], report["unchanged"]) == (0, 1, 2)
    assert users[archived]["active"] is False
    assert [users[p["primaryEmail"]]["active"] for p in (staff[0], staff[2])] == [
        True,
        True,
    ]
    assert (code_again, again["deactivated"], again["unchanged"]) == (0, 0, 3)


def test_spent_daily_budget_stops_run_then_resumes(
    driver: SyncDriver, scim_server: ScimServer
) -> None:
    url = scim_server.new_tenant_url()
    integration = driver.new_integration(url, scim_server.token)
    driver.relay.cli.json(
        "integration", "limits", integration, "--per-day", str(DAILY_BUDGET)
    )
    driver.set_source(integration, build_staff("C0budget", STAFF), "--org-unit=/Staff")

    # Each `sync run` is a process of its own, with a fresh in-memory budget.
    first_code, first = driver.run(integration)
    with scim_server.client(url) as direct:
        after_first = list_resources(direct, "Users")
    second_code, second = driver.run(integration)
    with scim_server.client(url) as direct:
        users = list_resources(direct, "Users")
        groups = list_resources(direct, "Groups")
    runs = driver.status(integration)

    assert first_code == 1
    assert first["status"] == "interrupted"
    assert "daily request budget is spent" in first["detail"]
    assert first["detail"].endswith("the next run picks up where this one stopped")
    assert 0 < first["created"] < STAFF
    assert first["failed"] == 0
    assert len(after_first) == first["created"]
    assert (second_code, second["status"]) == (0, "succeeded")
    assert second["unchanged"] == first["created"]
    assert first["created"] + second["created"] == STAFF
    assert len(users) == len({user["userName"] for user in users}) == STAFF
    assert [len(group["members"]) for group in groups] == [STAFF]
    assert [run["status"] for run in runs] == ["succeeded", "interrupted"]
