"""The plan of a run: every change that brings the downstream in line with Google.

A Google user is matched to the downstream user that its stored link names,
else to the one whose ``externalId`` is the Google id (RFC 7643 §3.1), else
to the one with the same ``userName``. Groups are matched the same way, by
link, ``externalId``, then ``displayName``. Only users and groups the sync
created or matched are ever deactivated or deleted: the downstream's other
resources are left alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from scimrelay.sync.google import DirectorySnapshot, GoogleGroup
from scimrelay.sync.mapping import (
    MANAGER,
    changed_targets,
    downstream_fields,
    google_fields,
)

USER = "user"
GROUP = "group"
# The manager's downstream id before the manager is created in the same run.
PENDING = "(created in this run)"
Link = tuple[str, str]


@dataclass
class UserChange:
    """Create, update, deactivate or delete one downstream user."""

    action: str
    source_id: str
    user_name: str
    downstream_id: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)
    current: dict[str, Any] | None = field(default=None, repr=False)
    manager_id: str | None = None
    wave: int = 0

    def describe(self) -> str:
        line = f"{self.action} user {self.user_name}"
        if self.action == "update":
            line += f": {', '.join(self.changed)}"
        return line

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["current"], data["wave"]
        return {"kind": USER, **data}


@dataclass
class GroupChange:
    """Create, update (rename, add or remove members) or delete one group."""

    action: str
    source_id: str
    name: str
    email: str = ""
    downstream_id: str | None = None
    old_name: str | None = None
    add: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    add_names: list[str] = field(default_factory=list)
    remove_names: list[str] = field(default_factory=list)
    members_before: list[str] = field(default_factory=list, repr=False)

    def describe(self) -> list[str]:
        label = f"group {self.email or self.source_id} {self.name!r}"
        if self.action != "update":
            members = f" with {len(self.add)} members" if self.add else ""
            return [f"{self.action} {label}{members}"]
        lines = []
        if self.old_name is not None:
            lines.append(f"rename {label} from {self.old_name!r}")
        if self.add_names:
            lines.append(f"add to {label}: {', '.join(self.add_names)}")
        if self.remove_names:
            lines.append(f"remove from {label}: {', '.join(self.remove_names)}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["members_before"]
        return {"kind": GROUP, **data}


@dataclass
class Plan:
    """The changes a run would send, and the links that matching found."""

    users: list[UserChange]
    groups: list[GroupChange]
    unchanged_users: int
    unchanged_groups: int
    links: dict[Link, str]
    stale_links: list[Link]

    def user_changes(self, action: str) -> list[UserChange]:
        return [change for change in self.users if change.action == action]

    def counts(self) -> dict[str, Any]:
        """Count the changes the way a run's report does."""
        return {
            "created": len(self.user_changes("create")),
            "updated": len(self.user_changes("update")),
            "deactivated": len(self.user_changes("deactivate")),
            "deleted": len(self.user_changes("delete")),
            "unchanged": self.unchanged_users,
            "groups": {
                "created": self._group_count("create"),
                "updated": self._group_count("update"),
                "deleted": self._group_count("delete"),
                "unchanged": self.unchanged_groups,
                "members_added": sum(len(g.add) for g in self.groups),
                "members_removed": sum(len(g.remove) for g in self.groups),
            },
        }

    def _group_count(self, action: str) -> int:
        return sum(1 for group in self.groups if group.action == action)

    def describe(self) -> list[str]:
        """Return one line per change, users first."""
        lines = [change.describe() for change in self.users]
        for group in self.groups:
            lines.extend(group.describe())
        return lines

    def to_dict(self) -> dict[str, Any]:
        changes = [c.to_dict() for c in self.users] + [g.to_dict() for g in self.groups]
        return {"counts": self.counts(), "changes": changes}


@dataclass(frozen=True)
class PlanInput:
    snapshot: DirectorySnapshot
    downstream_users: list[dict[str, Any]]
    downstream_groups: list[dict[str, Any]]
    links: Mapping[Link, str]
    mapping: Mapping[str, str]
    delete_users: bool


def make_plan(data: PlanInput) -> Plan:
    """Compare Google with the downstream and list the changes to make."""
    return _Planner(data).plan()


class _Index:
    """Downstream resources by id, externalId and a name, each claimed once."""

    def __init__(self, resources: Iterable[dict[str, Any]], name_key: str) -> None:
        self.by_id: dict[str, dict[str, Any]] = {}
        self.by_external: dict[str, dict[str, Any]] = {}
        self.by_name: dict[str, dict[str, Any]] = {}
        for resource in resources:
            resource_id = str(resource.get("id", ""))
            self.by_id[resource_id] = resource
            if resource.get("externalId"):
                self.by_external.setdefault(str(resource["externalId"]), resource)
            name = str(resource.get(name_key) or "").lower()
            self.by_name.setdefault(name, resource)
        self.claimed: set[str] = set()

    def match(
        self, linked_id: str | None, source_id: str, name: str
    ) -> dict[str, Any] | None:
        """Return the linked, same-externalId or same-name resource, if free."""
        candidates = [
            self.by_id.get(linked_id or ""),
            self.by_external.get(source_id),
            self._by_name(source_id, name),
        ]
        for resource in candidates:
            if resource is not None and resource["id"] not in self.claimed:
                self.claimed.add(str(resource["id"]))
                return resource
        return None

    def _by_name(self, source_id: str, name: str) -> dict[str, Any] | None:
        resource = self.by_name.get(name.lower())
        if resource is None or resource.get("externalId") not in (None, source_id):
            return None
        return resource


class _Planner:
    def __init__(self, data: PlanInput) -> None:
        self.data = data
        self.users = {str(user["id"]): user for user in data.snapshot.users}
        self.by_email = {
            str(user.get("primaryEmail", "")).lower(): user_id
            for user_id, user in self.users.items()
        }
        self.user_index = _Index(data.downstream_users, "userName")
        self.group_index = _Index(data.downstream_groups, "displayName")
        # Google user id -> downstream id, or PENDING when created in this run.
        self.downstream_of: dict[str, str] = {}
        self.links: dict[Link, str] = {}
        self.stale: list[Link] = []
        self.unchanged_users = 0
        self.unchanged_groups = 0

    def plan(self) -> Plan:
        matches = self._match_users()
        users = [self._user_change(uid, matches.get(uid)) for uid in self.users]
        user_changes = [change for change in users if change is not None]
        _assign_waves(user_changes)
        user_changes += self._user_removals()
        groups = self._group_changes()
        return Plan(
            user_changes,
            groups,
            self.unchanged_users,
            self.unchanged_groups,
            self.links,
            self.stale,
        )

    def _match_users(self) -> dict[str, dict[str, Any]]:
        matches = {}
        for user_id, user in self.users.items():
            linked = self.data.links.get((USER, user_id))
            email = str(user.get("primaryEmail", ""))
            resource = self.user_index.match(linked, user_id, email)
            if resource is not None:
                matches[user_id] = resource
                self.downstream_of[user_id] = str(resource["id"])
                self.links[(USER, user_id)] = str(resource["id"])
            elif _is_active(user):
                self.downstream_of[user_id] = PENDING
        return matches

    def _user_change(
        self, user_id: str, resource: dict[str, Any] | None
    ) -> UserChange | None:
        user = self.users[user_id]
        fields = google_fields(user, self.data.mapping)
        manager_id = self._manager_of(fields)
        if MANAGER in fields:
            fields[MANAGER] = self.downstream_of.get(manager_id or "")
        if resource is None:
            return self._creation(user_id, fields, manager_id)

        current = downstream_fields(resource, list(fields))
        changed = changed_targets(fields, current)
        if not changed:
            self.unchanged_users += 1
            return None
        suspended = "active" in changed and not fields["active"]
        return UserChange(
            "deactivate" if suspended else "update",
            user_id,
            fields["userName"],
            str(resource["id"]),
            fields,
            changed,
            resource,
            manager_id,
        )

    def _creation(
        self, user_id: str, fields: dict[str, Any], manager_id: str | None
    ) -> UserChange | None:
        if not fields["active"]:
            # A suspended user that was never provisioned is not created.
            self.unchanged_users += 1
            return None
        return UserChange(
            "create", user_id, fields["userName"], None, fields, [], None, manager_id
        )

    def _manager_of(self, fields: Mapping[str, Any]) -> str | None:
        email = fields.get(MANAGER)
        return self.by_email.get(str(email).lower()) if email else None

    def _user_removals(self) -> list[UserChange]:
        """Deactivate (or delete) linked users that left the selection."""
        changes = []
        for (kind, source_id), downstream_id in self.data.links.items():
            if kind != USER or source_id in self.users:
                continue
            resource = self.user_index.by_id.get(downstream_id)
            if resource is None or downstream_id in self.user_index.claimed:
                self.stale.append((kind, source_id))
                continue
            change = self._removal(source_id, resource)
            if change is None:
                self.unchanged_users += 1
            else:
                changes.append(change)
        return changes

    def _removal(self, source_id: str, resource: dict[str, Any]) -> UserChange | None:
        name = str(resource.get("userName", ""))
        if self.data.delete_users:
            return UserChange("delete", source_id, name, str(resource["id"]))
        if resource.get("active") is False:
            return None
        fields = {"active": False}
        return UserChange(
            "deactivate",
            source_id,
            name,
            str(resource["id"]),
            fields,
            ["active"],
            resource,
        )

    def _group_changes(self) -> list[GroupChange]:
        changes = []
        for group in self.data.snapshot.groups:
            linked = self.data.links.get((GROUP, group.id))
            resource = self.group_index.match(linked, group.id, group.name)
            if resource is not None:
                self.links[(GROUP, group.id)] = str(resource["id"])
            change = self._group_change(group, resource)
            if change is None:
                self.unchanged_groups += 1
            else:
                changes.append(change)
        return changes + self._group_removals()

    def _group_change(
        self, group: GoogleGroup, resource: dict[str, Any] | None
    ) -> GroupChange | None:
        members = sorted(u for u in group.member_ids if u in self.downstream_of)
        if resource is None:
            return GroupChange("create", group.id, group.name, group.email, add=members)
        current = {str(item.get("value")) for item in resource.get("members") or []}
        known = {self.downstream_of[uid] for uid in members}
        add = [uid for uid in members if self.downstream_of[uid] not in current]
        remove = sorted(current - known)
        renamed = resource.get("displayName") != group.name
        if not (add or remove or renamed):
            return None
        return GroupChange(
            "update",
            group.id,
            group.name,
            group.email,
            str(resource["id"]),
            str(resource.get("displayName")) if renamed else None,
            add,
            remove,
            [self._email(uid) for uid in add],
            [self._downstream_name(did) for did in remove],
            sorted(current),
        )

    def _group_removals(self) -> list[GroupChange]:
        selected = {group.id for group in self.data.snapshot.groups}
        changes = []
        for (kind, source_id), downstream_id in self.data.links.items():
            if kind != GROUP or source_id in selected:
                continue
            resource = self.group_index.by_id.get(downstream_id)
            if resource is None or downstream_id in self.group_index.claimed:
                self.stale.append((kind, source_id))
                continue
            name = str(resource.get("displayName", ""))
            changes.append(GroupChange("delete", source_id, name, "", downstream_id))
        return changes

    def _email(self, user_id: str) -> str:
        return str(self.users[user_id].get("primaryEmail", user_id))

    def _downstream_name(self, downstream_id: str) -> str:
        resource = self.user_index.by_id.get(downstream_id)
        return (
            str(resource.get("userName", downstream_id)) if resource else downstream_id
        )


def _is_active(user: Mapping[str, Any]) -> bool:
    return not (user.get("suspended") or user.get("archived"))


def _assign_waves(changes: list[UserChange]) -> None:
    """Number creations so that a manager is created before the people it manages."""
    creates = {c.source_id: c for c in changes if c.action == "create"}
    depth: dict[str, int] = {}
    for start in creates:
        path: list[str] = []
        node: str | None = start
        while node in creates and node not in depth and node not in path:
            path.append(node)
            node = creates[node].manager_id
        base = -1 if node in path else depth.get(node or "", -1)
        for offset, item in enumerate(reversed(path), start=1):
            depth[item] = base + offset
    for source_id, change in creates.items():
        change.wave = depth[source_id]
