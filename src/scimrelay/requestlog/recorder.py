"""Durable, batched writing of request log entries.

The request path masks an entry and appends it to the local spool
(:mod:`scimrelay.requestlog.spool`) before the answer is sent: a write to the
page cache, no database round trip. A writer thread fsyncs the spool in
batches and copies its records to the store with one driver-level insert per
batch (:mod:`scimrelay.requestlog.inserts`), skipping request ids already
there when a write may have been repeated. A store that is locked, slow or
down only delays the copy, and a process killed at any moment leaves its
records for the next one to copy.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import structlog
from sqlalchemy import Connection, select
from sqlalchemy.exc import SQLAlchemyError

from scimrelay.requestlog import spool
from scimrelay.requestlog.inserts import insert_records
from scimrelay.requestlog.masking import mask_body, storable
from scimrelay.store.database import Store
from scimrelay.store.models import RequestLogEntry

logger = structlog.get_logger(__name__)

BATCH_SIZE = 5000
FLUSH_INTERVAL = 0.2
RETRY_DELAY = 1.0


@dataclass(slots=True)
class PendingEntry:
    """One answered request, as captured on the request path (unmasked)."""

    time: float
    request_id: str
    method: str
    path: str
    query: str
    status: int
    duration_ms: float
    client: str | None
    tenant_id: str | None = None
    integration_id: str | None = None
    downstream_status: int | None = None
    downstream_ms: float | None = None
    error: str | None = None
    request_body: bytes | None = None
    response_body: bytes | None = None
    secret_values: tuple[str, ...] = field(default=(), repr=False)
    source: str | None = None
    replay_of: int | None = None
    applied_rules: list[str] | None = None
    original_request_body: bytes | None = None

    def to_row(self) -> dict[str, Any]:
        """Return the masked record, as spooled: ``time`` in epoch seconds."""
        return {
            "time": self.time,
            "replay_of": self.replay_of,
            "request_id": self.request_id,
            "tenant_id": self.tenant_id,
            "integration_id": self.integration_id,
            "method": self.method,
            "path": storable(self.path),
            "query": storable(self.query),
            "status": self.status,
            "downstream_status": self.downstream_status,
            "duration_ms": round(self.duration_ms, 3),
            "downstream_ms": (
                None if self.downstream_ms is None else round(self.downstream_ms, 3)
            ),
            "client": self.client,
            "error": _mask_text(self.error, self.secret_values),
            "request_body": mask_body(self.request_body, self.secret_values),
            "response_body": mask_body(self.response_body, self.secret_values),
            "applied_rules": self.applied_rules or None,
            "original_request_body": mask_body(
                self.original_request_body, self.secret_values
            ),
            "source": self.source,
        }


def _mask_text(text: str | None, secret_values: tuple[str, ...]) -> str | None:
    if text is None:
        return None

    for value in secret_values:
        text = text.replace(value, "[secure]")
    return storable(text)


class RequestRecorder:
    """The spool that the request path appends to and the thread that copies it."""

    def __init__(self, store: Store, spool_root: Path) -> None:
        self._store = store
        self._spool = spool.Spool(spool_root)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="request-log-writer", daemon=True
        )
        self._appended = 0
        self._unstored: list[tuple[dict[str, Any], int]] = []
        self._retrying = False
        self.written = 0

    @property
    def queue_depth(self) -> int:
        """Entries recorded by this process and not yet in the store."""
        return self._appended - self.written

    @property
    def lag_seconds(self) -> float:
        """Age of the oldest entry not yet written, or 0 when all are written."""
        # The spool's new records are read first: a record the writer takes
        # in between is then found in its own list.
        pending = (self._spool.peek_oldest_new(), _first(self._unstored))
        times = [record["time"] for record in pending if record is not None]
        return max(0.0, time.time() - min(times)) if times else 0.0

    def record(self, entry: PendingEntry) -> None:
        """Mask and spool one entry; it is in the file when this returns."""
        row = entry.to_row()
        self._spool.append(orjson.dumps(row) + b"\n", row)
        self._appended += 1

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Copy every spooled entry to the store, then end the writer thread."""
        self._stopping.set()
        self._wake.set()
        self._thread.join()
        if not self._spool.close():
            logger.error(
                "request log entries kept in the spool; the next start writes them",
                entries=self.queue_depth,
            )

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every entry recorded so far is stored; return whether it is."""
        deadline = time.monotonic() + timeout
        while self.queue_depth and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.01)
        return not self.queue_depth

    def _run(self) -> None:
        self._adopt_orphans()
        while not self._stopping.is_set():
            self._wake.wait(FLUSH_INTERVAL)
            self._wake.clear()
            if not self._copy_safely():
                self._stopping.wait(RETRY_DELAY)
        self._copy_safely()

    def _copy_safely(self) -> bool:
        try:
            return self._copy_own()
        except Exception:
            logger.exception("request log copy failed; entries stay in the spool")
            return False

    def _copy_own(self) -> bool:
        """Copy this process's new spool records; return False if the store failed."""
        self._spool.sync()
        self._unstored.extend(self._spool.take_new())
        while self._unstored:
            batch = self._unstored[:BATCH_SIZE]
            if not self._write([record for record, _size in batch], self._retrying):
                self._retrying = True
                return False
            del self._unstored[:BATCH_SIZE]
            self._spool.commit(sum(size for _record, size in batch))
            self.written += len(batch)
        self._retrying = False
        self._spool.rotate_if_done()
        return True

    def _adopt_orphans(self) -> None:
        """Copy the spools left by processes that ended before storing them."""
        for directory, lock_fd in spool.orphans(
            self._spool.root, self._spool.directory
        ):
            records = spool.read_directory(directory)
            while not self._write_all(records):
                if self._stopping.wait(RETRY_DELAY):
                    return
            logger.info("request log entries recovered", entries=len(records))
            spool.remove_directory(directory, lock_fd)

    def _write_all(self, records: list[dict[str, Any]]) -> bool:
        """Store an ended process's records, skipping those already stored."""
        return all(
            self._write(records[start : start + BATCH_SIZE], dedupe=True)
            for start in range(0, len(records), BATCH_SIZE)
        )

    def _write(self, records: list[dict[str, Any]], dedupe: bool) -> bool:
        """Insert one batch in one transaction; return False if the store failed.

        ``dedupe`` skips request ids already stored. An ended process's spool
        needs it, and so does a retry, because the failed write may have
        committed. Records spooled and written once need no check.
        """
        try:
            with self._store.engine.begin() as connection:
                if dedupe:
                    records = _not_stored(connection, records)
                if records:
                    insert_records(connection, records)
        except SQLAlchemyError as error:
            logger.error(
                "request log write failed; entries stay in the spool",
                entries=len(records),
                error=type(error).__name__,
            )
            return False
        return True


def _not_stored(
    connection: Connection, records: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    ids = [record["request_id"] for record in records]
    stored = set(
        connection.scalars(
            select(RequestLogEntry.request_id).where(
                RequestLogEntry.request_id.in_(ids)
            )
        )
    )
    return [record for record in records if record["request_id"] not in stored]


def _first(pending: list[tuple[dict[str, Any], int]]) -> dict[str, Any] | None:
    """Return the oldest record of a list that another thread may be emptying."""
    try:
        return pending[0][0]
    except IndexError:
        return None
