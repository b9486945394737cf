"""A Google Workspace of 2,000 users synced into scim2-server through the relay.

The directory has org units /Sales, /Sales/EMEA, /Engineering and
/Contractors; the source selects /Sales and /Engineering (so /Sales/EMEA too)
and three groups, one of which contains another group. Managers are named so that
many people sort before their manager. The fake Google answers every seventh
Directory API request with 403 rateLimitExceeded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.conftest import RelayFactory, ScimServer
from tests.support.google import Workspace
from tests.support.relay import Relay
from tests.support.sync import SyncDriver, list_resources
from tests.sync.conftest import Google

CUSTOMER = "C0bigcorp"
DOMAIN = "bigcorp.example"
UNITS = {"/Sales": 700, "/Sales/EMEA": 400, "/Engineering": 600, "/Contractors": 297}
SELECTED_UNITS = ("/Sales", "/Engineering")
GROUP_PATTERNS = (f"all-sales@{DOMAIN}", f"eng*@{DOMAIN}", "leads@*")
TEAM_SIZE = 25
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@dataclass
class BigCorp:
    """The workspace and the people the tests change later."""

    workspace: Workspace
    by_unit: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    leads: list[dict[str, Any]] = field(default_factory=list)

    def selected_active(self) -> list[dict[str, Any]]:
        return [
            user
            for user in self.workspace.users.values()
            if _in_selection(user) and not user["suspended"]
        ]

    def non_leads(self, unit: str) -> list[dict[str, Any]]:
        lead_ids = {lead["id"] for lead in self.leads}
        return [
            u
            for u in self.by_unit[unit]
            if u["id"] not in lead_ids and not u["suspended"]
        ]


def _in_selection(user: dict[str, Any]) -> bool:
    unit = user["orgUnitPath"]
    return any(unit == s or unit.startswith(s + "/") for s in SELECTED_UNITS)


def build_bigcorp() -> BigCorp:
    """Build 2,000 users: an admin, two heads and four units of teams."""
    workspace = Workspace(CUSTOMER, DOMAIN)
    corp = BigCorp(workspace)
    workspace.add_user("it.admin", "/", admin=True)
    heads = {
        "/Sales": workspace.add_user("zoe.head", "/Sales", title="VP Sales"),
        "/Engineering": workspace.add_user("zed.cto", "/Engineering", title="CTO"),
    }
    heads["/Sales/EMEA"] = heads["/Sales"]
    for unit, size in UNITS.items():
        corp.by_unit[unit] = _add_unit(corp, unit, size, heads.get(unit))
    _add_groups(corp)
    return corp


def _add_unit(
    corp: BigCorp, unit: str, size: int, head: dict[str, Any] | None
) -> list[dict[str, Any]]:
    prefix = unit.strip("/").replace("/", "-").lower()
    people: list[dict[str, Any]] = []
    lead: dict[str, Any] | None = None
    for index in range(size):
        is_lead = index % TEAM_SIZE == 0
        person = corp.workspace.add_user(
            f"{prefix}.{index:04d}",
            unit,
            title="Team lead" if is_lead else "Specialist",
            department=prefix.split("-")[0].capitalize(),
            manager=head if is_lead else lead,
            suspended=index % 50 == 7,
        )
        if is_lead:
            lead = person
            corp.leads.append(person)
        people.append(person)
    return people


def _add_groups(corp: BigCorp) -> None:
    workspace = corp.workspace
    groups = {
        "all-sales": workspace.add_group("all-sales", "All Sales"),
        "emea": workspace.add_group("emea", "EMEA Sales"),
        "engineering": workspace.add_group("engineering", "Engineering"),
        "leads": workspace.add_group("leads", "Team Leads"),
        "contractors": workspace.add_group("contractors", "Contractors"),
    }
    members = {
        "all-sales": corp.by_unit["/Sales"],
        "emea": corp.by_unit["/Sales/EMEA"],
        "engineering": corp.by_unit["/Engineering"],
        "leads": corp.leads,
        "contractors": corp.by_unit["/Contractors"],
    }
    for name, people in members.items():
        for person in people:
            workspace.add_member(groups[name], person)
    # All Sales contains EMEA Sales as a nested group.
    workspace.add_member(groups["all-sales"], groups["emea"])
    corp.groups = groups


@dataclass
class Setup:
    corp: BigCorp
    driver: SyncDriver
    relay: Relay
    integration_id: str
    downstream: httpx.Client


@pytest.fixture(scope="module")
def setup(
    google: Google,
    relay_factory: RelayFactory,
    scim_server: ScimServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Setup]:
    corp = build_bigcorp()
    scim_url = scim_server.new_tenant_url()
    relay = relay_factory(scim_url, env={"SCIMRELAY_GOOGLE_RETRY_SECONDS": "0.01"})
    driver = SyncDriver(
        relay, google.fake, google.account, tmp_path_factory.mktemp("keys")
    )
    options = [f"--org-unit={unit}" for unit in SELECTED_UNITS]
    options += [f"--group={pattern}" for pattern in GROUP_PATTERNS]
    driver.set_source(relay.integration_id, corp.workspace, *options)
    with scim_server.client(scim_url) as downstream:
        yield Setup(corp, driver, relay, relay.integration_id, downstream)
    driver.close()


@pytest.fixture(scope="module")
def first_preview(setup: Setup) -> dict[str, Any]:
    return setup.driver.preview(setup.integration_id)


@pytest.fixture(scope="module")
def first_run(setup: Setup, first_preview: dict[str, Any]) -> dict[str, Any]:
    code, report = setup.driver.run(setup.integration_id)
    assert code == 0, report
    return report


@dataclass(frozen=True)
class Downstream:
    """The downstream's users and groups, by userName and displayName."""

    users: dict[str, dict[str, Any]]
    groups: dict[str, dict[str, Any]]

    def member_names(self, group: str) -> set[str]:
        names = {user["id"]: name for name, user in self.users.items()}
        return {names[m["value"]] for m in self.groups[group].get("members", [])}


def read_downstream(setup: Setup) -> Downstream:
    return Downstream(users_by_name(setup), groups_by_name(setup))


@pytest.fixture(scope="module")
def after_first_run(setup: Setup, first_run: dict[str, Any]) -> Downstream:
    return read_downstream(setup)


def users_by_name(setup: Setup) -> dict[str, dict[str, Any]]:
    return {u["userName"]: u for u in list_resources(setup.downstream, "Users")}


def groups_by_name(setup: Setup) -> dict[str, dict[str, Any]]:
    return {g["displayName"]: g for g in list_resources(setup.downstream, "Groups")}


def expected_members(*people: list[dict[str, Any]]) -> set[str]:
    return {p["primaryEmail"] for group in people for p in group if not p["suspended"]}


def newest_log_id(setup: Setup) -> int:
    return int(setup.relay.logs(setup.integration_id, limit=1)[0]["id"])


def logged_since(setup: Setup, log_id: int) -> list[dict[str, Any]]:
    entries = setup.relay.logs(setup.integration_id, limit=200)
    return [entry for entry in entries if entry["id"] > log_id]


def test_preview_lists_changes_sends_none(
    setup: Setup, first_preview: dict[str, Any]
) -> None:
    expected = {u["primaryEmail"] for u in setup.corp.selected_active()}
    creations = [c for c in first_preview["changes"] if c["kind"] == "user"]
    groups = {c["name"] for c in first_preview["changes"] if c["kind"] == "group"}

    assert len(expected) == 1668
    assert {c["user_name"] for c in creations} == expected
    assert {c["action"] for c in creations} == {"create"}
    assert groups == {"All Sales", "Engineering", "Team Leads"}
    assert first_preview["counts"]["created"] == 1668
    assert list_resources(setup.downstream, "Users") == []


def test_first_run_creates_selected_users(
    setup: Setup, first_run: dict[str, Any], after_first_run: Downstream
) -> None:
    users = after_first_run.users
    expected = {u["primaryEmail"]: u for u in setup.corp.selected_active()}

    assert first_run["status"] == "succeeded"
    assert first_run["created"] == 1668
    assert first_run["failed"] == 0
    assert set(users) == set(expected)
    for name, user in users.items():
        google_user = expected[name]
        assert user["externalId"] == google_user["id"]
        assert user["active"] is True
        assert user["name"]["familyName"] == google_user["name"]["familyName"]
        assert user["emails"] == [{"value": name, "type": "work", "primary": True}]


def test_first_run_links_managers(setup: Setup, after_first_run: Downstream) -> None:
    users = after_first_run.users
    ids = {name: user["id"] for name, user in users.items()}
    checked = 0
    for google_user in setup.corp.selected_active():
        if "relations" not in google_user:
            continue
        extension = users[google_user["primaryEmail"]][ENTERPRISE]
        manager_email = google_user["relations"][0]["value"]

        assert extension["manager"] == {"value": ids[manager_email]}
        assert extension["department"] in ("Sales", "Engineering")
        checked += 1
    assert checked == 1666


def test_first_run_expands_nested_groups(
    setup: Setup, first_run: dict[str, Any], after_first_run: Downstream
) -> None:
    corp = setup.corp
    members = after_first_run.member_names
    selected_leads = [lead for lead in corp.leads if _in_selection(lead)]

    assert set(after_first_run.groups) == {"All Sales", "Engineering", "Team Leads"}
    assert members("All Sales") == expected_members(
        corp.by_unit["/Sales"], corp.by_unit["/Sales/EMEA"]
    )
    assert members("Engineering") == expected_members(corp.by_unit["/Engineering"])
    assert members("Team Leads") == expected_members(selected_leads)
    assert first_run["groups"]["created"] == 3


def test_first_run_pages_through_rate_limits(
    google: Google, first_run: dict[str, Any]
) -> None:
    stats = google.fake.stats()

    assert first_run["status"] == "succeeded"
    assert stats["api_error_rateLimitExceeded"] >= 2
    assert stats["users_pages"] >= 5
    assert stats["members_pages"] >= 6


def test_request_log_marks_sync_requests(
    setup: Setup, first_run: dict[str, Any], scim_server: ScimServer
) -> None:
    entries = setup.relay.logs(setup.integration_id, limit=100_000)
    creations = [
        e for e in entries if e["method"] == "POST" and e["path"].endswith("/Users")
    ]

    assert len(creations) == 1668
    assert {e["source"] for e in creations} == {"sync:google"}
    assert {e["status"] for e in creations} == {201}
    assert all(scim_server.token not in (e["request_body"] or "") for e in entries)


def test_second_run_changes_nothing(setup: Setup, after_first_run: Downstream) -> None:
    log_id = newest_log_id(setup)
    code, report = setup.driver.run(setup.integration_id)
    sent = logged_since(setup, log_id)

    assert code == 0, report
    # 1,668 provisioned, and 34 suspended people who were never provisioned.
    assert report["unchanged"] == 1702
    for count in ("created", "updated", "deactivated", "deleted", "failed"):
        assert report[count] == 0, count
    assert report["groups"]["unchanged"] == 3
    assert sent, "the run read the downstream"
    assert {entry["method"] for entry in sent} == {"GET"}


def test_incremental_run_applies_changes(
    setup: Setup, google: Google, after_first_run: Downstream
) -> None:
    corp = setup.corp
    workspace = corp.workspace
    sales, engineering = corp.non_leads("/Sales"), corp.non_leads("/Engineering")
    renamed, email_changed, suspended = sales[1], sales[2], sales[3]
    moved, dropped_member = engineering[1], engineering[2]
    old_email = email_changed["primaryEmail"]
    renamed["name"].update(familyName="Renamed", fullName="Renamed Person")
    email_changed["primaryEmail"] = f"new.address@{DOMAIN}"
    suspended["suspended"] = True
    moved["orgUnitPath"] = "/Contractors"
    newcomer = workspace.add_user("zz.newcomer", "/Engineering", manager=corp.leads[0])
    groups = corp.groups
    workspace.remove_member(groups["engineering"], dropped_member)
    workspace.add_member(groups["engineering"], sales[4])
    workspace.add_member(groups["engineering"], newcomer)
    groups["engineering"]["name"] = "Engineering Team"
    del workspace.groups[groups["leads"]["id"]]
    google.fake.load(workspace)

    preview = setup.driver.preview(setup.integration_id)
    code, report = setup.driver.run(setup.integration_id)
    after = read_downstream(setup)
    users = after.users

    assert code == 0, report
    assert preview["counts"] == {
        **{k: report[k] for k in ("created", "updated", "deactivated", "deleted")},
        "unchanged": report["unchanged"],
        "groups": {k: v for k, v in report["groups"].items() if k != "failed"},
    }
    assert (report["created"], report["updated"], report["deactivated"]) == (1, 2, 2)
    assert users[renamed["primaryEmail"]]["name"]["familyName"] == "Renamed"
    assert old_email not in users
    assert users[f"new.address@{DOMAIN}"]["externalId"] == email_changed["id"]
    assert users[suspended["primaryEmail"]]["active"] is False
    assert users[moved["primaryEmail"]]["active"] is False
    assert users[newcomer["primaryEmail"]]["active"] is True
    assert set(after.groups) == {"All Sales", "Engineering Team"}
    engineering_members = after.member_names("Engineering Team")
    assert sales[4]["primaryEmail"] in engineering_members
    assert newcomer["primaryEmail"] in engineering_members
    assert moved["primaryEmail"] not in engineering_members
    assert dropped_member["primaryEmail"] not in engineering_members
    assert report["groups"]["deleted"] == 1
    assert (report["groups"]["members_added"], report["groups"]["members_removed"]) == (
        2,
        2,
    )

    code, again = setup.driver.run(setup.integration_id)
    assert code == 0, again
    assert (again["created"], again["updated"], again["deactivated"]) == (0, 0, 0)
    assert again["groups"]["updated"] == 0


def test_status_lists_runs_newest_first(
    setup: Setup, first_run: dict[str, Any]
) -> None:
    runs = setup.driver.status(setup.integration_id)
    oldest = runs[-1]

    assert oldest["id"] == first_run["id"]
    assert oldest["created"] == 1668
    assert oldest["duration_ms"] > 0
    assert [run["status"] for run in runs] == ["succeeded"] * len(runs)
    assert runs == sorted(runs, key=lambda run: run["started_at"], reverse=True)
