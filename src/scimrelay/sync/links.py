"""Links from a source's ids to the ids the downstream gave, kept in the store."""

from __future__ import annotations

from itertools import islice

from sqlalchemy import delete, insert, select

from scimrelay.store.database import Store
from scimrelay.sync.models import SyncLink

Link = tuple[str, str]
CHUNK = 500


def load_links(store: Store, integration_id: str) -> dict[Link, str]:
    """Return every link of an integration, keyed by (kind, source id)."""
    query = select(SyncLink).where(SyncLink.integration_id == integration_id)
    with store.session() as session:
        return {
            (row.kind, row.source_id): row.downstream_id
            for row in session.scalars(query)
        }


class LinkBook:
    """An integration's links in memory; changes are written by ``flush``."""

    def __init__(self, store: Store, integration_id: str) -> None:
        self.store = store
        self.integration_id = integration_id
        self.current: dict[Link, str] = {}
        self._pending: dict[Link, str | None] = {}

    def get(self, link: Link) -> str | None:
        return self.current.get(link)

    def set(self, link: Link, downstream_id: str) -> None:
        if self.current.get(link) != downstream_id:
            self.current[link] = downstream_id
            self._pending[link] = downstream_id

    def drop(self, link: Link) -> None:
        self.current.pop(link, None)
        self._pending[link] = None

    @property
    def pending(self) -> int:
        return len(self._pending)

    def take(self) -> dict[Link, str | None]:
        """Return the changes not yet written, and forget them."""
        pending, self._pending = self._pending, {}
        return pending

    def write(self, changes: dict[Link, str | None]) -> None:
        """Write changes taken with ``take``; blocking, so call it in a thread."""
        items = iter(changes.items())
        while chunk := list(islice(items, CHUNK)):
            self._write(dict(chunk))

    def _write(self, chunk: dict[Link, str | None]) -> None:
        rows = [
            {
                "integration_id": self.integration_id,
                "kind": kind,
                "source_id": source_id,
                "downstream_id": downstream_id,
            }
            for (kind, source_id), downstream_id in chunk.items()
            if downstream_id is not None
        ]
        with self.store.session() as session:
            for kind in {kind for kind, _ in chunk}:
                session.execute(
                    delete(SyncLink).where(
                        SyncLink.integration_id == self.integration_id,
                        SyncLink.kind == kind,
                        SyncLink.source_id.in_([s for k, s in chunk if k == kind]),
                    )
                )
            if rows:
                session.execute(insert(SyncLink), rows)
