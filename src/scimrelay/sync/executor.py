"""Applying a plan to the downstream, counting each outcome.

Users are created first, managers before the people they manage, then
updated, then deactivated or deleted; groups come last, so that their members
exist. A change that the downstream rejects is counted and the run goes on.
A downstream that becomes unreachable ends the run, and the next run picks
up from what was done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from itertools import groupby
from typing import Any

import orjson
import structlog

from scimrelay.errors import DownstreamRejected, DownstreamUnavailable
from scimrelay.sync.downstream import SyncScim
from scimrelay.sync.links import LinkBook
from scimrelay.sync.mapping import (
    MANAGER,
    group_document,
    merged_document,
    user_document,
)
from scimrelay.sync.plan import GROUP, PENDING, USER, GroupChange, Plan, UserChange
from scimrelay.sync.runs import RunReport

logger = structlog.get_logger(__name__)

FLUSH_EVERY = 50
Change = UserChange | GroupChange


class Executor:
    """Sends one plan's changes, a few at a time."""

    def __init__(
        self,
        scim: SyncScim,
        book: LinkBook,
        report: RunReport,
        concurrency: int,
        patch_supported: bool,
    ) -> None:
        self.scim = scim
        self.book = book
        self.report = report
        self.concurrency = concurrency
        self.patch_supported = patch_supported

    async def apply(self, plan: Plan) -> None:
        creations = sorted(plan.user_changes("create"), key=lambda c: c.wave)
        for _, wave in groupby(creations, key=lambda c: c.wave):
            await self._each(list(wave), self._create_user)
        await self._each(plan.user_changes("update"), self._update_user)
        removals = plan.user_changes("deactivate") + plan.user_changes("delete")
        await self._each(removals, self._remove_user)
        await self._each(plan.groups, self._apply_group)

    async def flush(self) -> None:
        """Write the links made so far."""
        changes = self.book.take()
        if changes:
            await asyncio.to_thread(self.book.write, changes)

    async def _each(
        self, changes: Sequence[Any], action: Callable[[Any], Awaitable[None]]
    ) -> None:
        """Apply changes concurrently; stop starting new ones if the downstream is gone.

        Changes already sent when the downstream goes away are left to finish,
        so that each one the downstream made is counted and linked.
        """
        limit = asyncio.Semaphore(self.concurrency)
        stopped: list[DownstreamUnavailable] = []

        async def guarded(change: Change) -> None:
            async with limit:
                if stopped:
                    return
                try:
                    await self._attempt(change, action)
                except DownstreamUnavailable as error:
                    stopped.append(error)

        try:
            async with asyncio.TaskGroup() as tasks:
                for change in changes:
                    tasks.create_task(guarded(change))
        except BaseExceptionGroup as group:
            raise _first(group) from None
        await self.flush()
        if stopped:
            raise stopped[0]

    async def _attempt(
        self, change: Change, action: Callable[[Any], Awaitable[None]]
    ) -> None:
        kind, name = _label(change)
        try:
            await action(change)
        except DownstreamUnavailable:
            raise
        except DownstreamRejected as error:
            logger.warning(
                "sync change rejected", object=f"{kind} {name}", error=str(error)
            )
            self.report.fail(kind, name, str(error))
        except Exception:
            logger.exception("sync change failed", object=f"{kind} {name}")
            self.report.fail(kind, name, "internal error: see the relay's log")
        if self.book.pending >= FLUSH_EVERY:
            await self.flush()

    async def _create_user(self, change: UserChange) -> None:
        document = user_document(self._resolved(change))
        downstream_id = await self.scim.create("Users", document)
        self.book.set((USER, change.source_id), downstream_id)
        self.report.users["created"] += 1

    async def _update_user(self, change: UserChange) -> None:
        assert change.current is not None and change.downstream_id is not None
        document = merged_document(change.current, self._resolved(change))
        await self.scim.replace("Users", change.downstream_id, document)
        self.report.users["updated"] += 1

    async def _remove_user(self, change: UserChange) -> None:
        assert change.downstream_id is not None
        if change.action == "delete":
            await self._delete("Users", change.downstream_id)
            self.book.drop((USER, change.source_id))
            self.report.users["deleted"] += 1
            return
        assert change.current is not None
        document = merged_document(change.current, self._resolved(change))
        await self.scim.replace("Users", change.downstream_id, document)
        self.report.users["deactivated"] += 1

    def _resolved(self, change: UserChange) -> dict[str, Any]:
        """Return the fields with the manager's downstream id as it is now."""
        fields = dict(change.fields)
        if MANAGER in fields:
            manager = self.book.get((USER, change.manager_id or ""))
            fields[MANAGER] = manager if manager != PENDING else None
        return fields

    async def _apply_group(self, change: GroupChange) -> None:
        if change.action == "create":
            await self._create_group(change)
        elif change.action == "delete":
            assert change.downstream_id is not None
            await self._delete("Groups", change.downstream_id)
            self.book.drop((GROUP, change.source_id))
            self.report.groups["deleted"] += 1
        else:
            await self._update_group(change)

    async def _create_group(self, change: GroupChange) -> None:
        members = self._member_ids(change.add)
        document = group_document(change.name, change.source_id, members)
        downstream_id = await self.scim.create("Groups", document)
        self.book.set((GROUP, change.source_id), downstream_id)
        self.report.groups["created"] += 1
        self.report.groups["members_added"] += len(members)

    async def _update_group(self, change: GroupChange) -> None:
        """Rename and change members with PATCH (RFC 7644 §3.5.2), else PUT."""
        assert change.downstream_id is not None
        added = self._member_ids(change.add)
        if self.patch_supported:
            operations = _group_operations(change, added)
            await self.scim.patch("Groups", change.downstream_id, operations)
        else:
            remaining = [i for i in change.members_before if i not in change.remove]
            members = remaining + added
            document = group_document(change.name, change.source_id, members)
            await self.scim.replace("Groups", change.downstream_id, document)
        self.report.groups["updated"] += 1
        self.report.groups["members_added"] += len(added)
        self.report.groups["members_removed"] += len(change.remove)

    def _member_ids(self, source_ids: list[str]) -> list[str]:
        found = (self.book.get((USER, source_id)) for source_id in source_ids)
        return [item for item in found if item and item != PENDING]

    async def _delete(self, resource: str, item_id: str) -> None:
        """DELETE a resource; one that is already gone counts as deleted."""
        try:
            await self.scim.delete(resource, item_id)
        except DownstreamRejected as error:
            if error.status != 404:
                raise


def _group_operations(change: GroupChange, added: list[str]) -> list[dict[str, Any]]:
    operations: list[dict[str, Any]] = []
    if change.old_name is not None:
        operations.append(
            {"op": "replace", "path": "displayName", "value": change.name}
        )
    if added:
        members = [{"value": member} for member in added]
        operations.append({"op": "add", "path": "members", "value": members})
    for member in change.remove:
        path = f"members[value eq {orjson.dumps(member).decode()}]"
        operations.append({"op": "remove", "path": path})
    return operations


def _label(change: Change) -> tuple[str, str]:
    if isinstance(change, UserChange):
        return USER, change.user_name
    return GROUP, change.email or change.name


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """Return the group's first exception, preferring an unavailable downstream."""
    leaves = list(_leaves(group))
    unavailable = [e for e in leaves if isinstance(e, DownstreamUnavailable)]
    return (unavailable or leaves)[0]


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]
