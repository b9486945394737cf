"""The mapping and the plan, on directories and downstream states built here."""

from __future__ import annotations

from typing import Any

from scimrelay.sync.google import DirectorySnapshot, GoogleGroup
from scimrelay.sync.mapping import (
    DEFAULT_MAPPING,
    ENTERPRISE_SCHEMA,
    effective_mapping,
    merged_document,
    source_value,
)
from scimrelay.sync.plan import GROUP, USER, Plan, PlanInput, make_plan
from tests.support.google import Workspace

ALICE = {
    "id": "g-alice",
    "primaryEmail": "alice@example.com",
    "name": {"givenName": "Alice", "familyName": "Liddell", "fullName": "Alice L"},
    "organizations": [
        {"title": "Intern", "department": "Ops", "primary": False},
        {"title": "Engineer", "department": "R&D", "primary": True},
    ],
    "externalIds": [
        {"type": "custom", "value": "X-1"},
        {"type": "organization", "value": "E-42"},
    ],
    "relations": [{"type": "manager", "value": "bob@example.com"}],
    "customSchemas": {"HR": {"badge": 1234}},
}


def test_source_value_picks_list_items() -> None:
    assert source_value(ALICE, "organizations.title") == "Engineer"
    assert source_value(ALICE, "externalIds[organization].value") == "E-42"
    assert source_value(ALICE, "relations[manager].value") == "bob@example.com"
    assert source_value(ALICE, "customSchemas.HR.badge") == "1234"
    assert source_value(ALICE, "relations[dotted_line].value") is None
    assert source_value(ALICE, "name") is None


def test_override_changes_targets() -> None:
    mapping = effective_mapping(
        {"title": None, "nickName": "name.givenName", "displayName": "primaryEmail"}
    )

    assert "title" not in mapping
    assert mapping["nickName"] == "name.givenName"
    assert mapping["displayName"] == "primaryEmail"
    assert mapping["enterprise.manager"] == DEFAULT_MAPPING["enterprise.manager"]


def test_merged_document_keeps_unmapped_attributes() -> None:
    resource = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "d-1",
        "USERNAME": "old@example.com",
        "meta": {"resourceType": "User"},
        "groups": [{"value": "g"}],
        "phoneNumbers": [{"value": "+1 555 0100"}],
        "emails": [{"value": "private@example.org", "primary": True}],
    }
    fields = {"userName": "alice@example.com", "emails": "alice@example.com"}
    fields |= {"enterprise.department": "R&D", "title": None}

    document = merged_document(resource, fields)

    assert document["userName"] == "alice@example.com"
    assert "USERNAME" not in document
    assert "meta" not in document
    assert "groups" not in document
    assert document["phoneNumbers"] == resource["phoneNumbers"]
    assert document["emails"] == [
        {"value": "alice@example.com", "type": "work", "primary": True},
        {"value": "private@example.org", "primary": False},
    ]
    assert document[ENTERPRISE_SCHEMA] == {"department": "R&D"}
    assert document["schemas"][-1] == ENTERPRISE_SCHEMA


def scim_user(user: dict[str, Any], downstream_id: str, **extra: Any) -> dict[str, Any]:
    """Return the downstream copy that a previous run would have made."""
    return {
        "id": downstream_id,
        "userName": user["primaryEmail"],
        "externalId": user["id"],
        "active": True,
        "name": {
            "givenName": user["name"]["givenName"],
            "familyName": user["name"]["familyName"],
            "formatted": user["name"]["fullName"],
        },
        "displayName": user["name"]["fullName"],
        "emails": [{"value": user["primaryEmail"], "type": "work", "primary": True}],
        **extra,
    }


def plan_for(
    workspace: Workspace,
    users: list[dict[str, Any]],
    links: dict[tuple[str, str], str] | None = None,
    groups: list[dict[str, Any]] | None = None,
    *,
    delete_users: bool = False,
) -> Plan:
    selected = [
        GoogleGroup(
            g["id"],
            g["email"],
            g["name"],
            frozenset(m["id"] for m in workspace.members[g["id"]]),
        )
        for g in workspace.groups.values()
    ]
    snapshot = DirectorySnapshot(list(workspace.users.values()), selected)
    return make_plan(
        PlanInput(
            snapshot,
            users,
            groups or [],
            links or {},
            effective_mapping({}),
            delete_users,
        )
    )


def actions(plan: Plan) -> dict[str, str]:
    return {c.user_name: c.action for c in plan.users}


def test_user_matching_order() -> None:
    workspace = Workspace("C1", "example.com")
    linked = workspace.add_user("linked")
    by_id = workspace.add_user("by.id")
    by_name = workspace.add_user("by.name")
    taken = workspace.add_user("taken")
    downstream = [
        scim_user(linked, "d-linked", userName="renamed@example.com"),
        scim_user(by_id, "d-id", userName="other@example.com"),
        scim_user(by_name, "d-name", externalId=None),
        scim_user(taken, "d-taken", externalId="someone-else"),
    ]

    plan = plan_for(workspace, downstream, {(USER, linked["id"]): "d-linked"})

    assert plan.links[(USER, linked["id"])] == "d-linked"
    assert plan.links[(USER, by_id["id"])] == "d-id"
    assert plan.links[(USER, by_name["id"])] == "d-name"
    assert (USER, taken["id"]) not in plan.links
    assert actions(plan) == {
        "linked@example.com": "update",
        "by.id@example.com": "update",
        "by.name@example.com": "update",
        "taken@example.com": "create",
    }


def test_managers_created_before_reports() -> None:
    workspace = Workspace("C1", "example.com")
    ceo = workspace.add_user("zz.ceo")
    vp = workspace.add_user("yy.vp", manager=ceo)
    staff = workspace.add_user("aa.staff", manager=vp)
    ceo["relations"] = [{"type": "manager", "value": staff["primaryEmail"]}]

    plan = plan_for(workspace, [])
    waves = {c.user_name: c.wave for c in plan.users}

    assert waves["yy.vp@example.com"] < waves["aa.staff@example.com"]
    assert len(set(waves.values())) == 3


def test_departed_users_deactivated_or_deleted() -> None:
    workspace = Workspace("C1", "example.com")
    stays = workspace.add_user("stays")
    gone = {"id": "g-gone", "primaryEmail": "gone@example.com", "name": stays["name"]}
    inactive = {**gone, "id": "g-inactive", "primaryEmail": "inactive@example.com"}
    downstream = [
        scim_user(stays, "d-stays"),
        scim_user(gone, "d-gone"),
        scim_user(inactive, "d-inactive", active=False),
    ]
    links = {
        (USER, "g-gone"): "d-gone",
        (USER, "g-inactive"): "d-inactive",
        (USER, "g-vanished"): "d-vanished",
    }

    plan = plan_for(workspace, downstream, links)
    deleting = plan_for(workspace, downstream, links, delete_users=True)

    assert actions(plan) == {"gone@example.com": "deactivate"}
    assert plan.unchanged_users == 2
    assert plan.stale_links == [(USER, "g-vanished")]
    assert actions(deleting) == {
        "gone@example.com": "delete",
        "inactive@example.com": "delete",
    }


def test_suspended_users_never_created() -> None:
    workspace = Workspace("C1", "example.com")
    known = workspace.add_user("known", suspended=True)
    workspace.add_user("never", suspended=True)

    plan = plan_for(workspace, [scim_user(known, "d-known")])

    assert actions(plan) == {"known@example.com": "deactivate"}
    assert plan.users[0].changed == ["active"]
    assert plan.unchanged_users == 1


def test_group_rename_and_members_diff() -> None:
    workspace = Workspace("C1", "example.com")
    ann, ben, new = (workspace.add_user(n) for n in ("ann", "ben", "new"))
    team = workspace.add_group("team", "Team A")
    for person in (ann, new):
        workspace.add_member(team, person)
    downstream_users = [scim_user(ann, "d-ann"), scim_user(ben, "d-ben")]
    downstream_groups = [
        {"id": "d-team", "displayName": "Team", "members": [{"value": "d-ben"}]},
        {"id": "d-old", "displayName": "Old", "externalId": "g-old", "members": []},
    ]
    links = {(GROUP, team["id"]): "d-team", (GROUP, "g-old"): "d-old"}

    plan = plan_for(workspace, downstream_users, links, downstream_groups)
    update, delete = plan.groups

    assert (update.action, update.old_name, update.name) == ("update", "Team", "Team A")
    assert update.add == sorted([ann["id"], new["id"]])
    assert update.remove_names == ["ben@example.com"]
    assert (delete.action, delete.downstream_id) == ("delete", "d-old")
    assert plan.counts()["groups"]["members_added"] == 2
