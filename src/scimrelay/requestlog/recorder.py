"""Batched, background writing of request log entries.

The request path only appends to an in-memory queue. A writer thread masks the
bodies and inserts them in batches, so logging costs no database round trip
per request. ``stop`` drains the queue, so a clean shutdown loses nothing.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import insert
from sqlalchemy.exc import SQLAlchemyError

from scimrelay.requestlog.masking import mask_body
from scimrelay.store.database import Store
from scimrelay.store.models import RequestLogEntry

logger = structlog.get_logger(__name__)

BATCH_SIZE = 1000
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
    applied_rules: list[str] | None = None
    original_request_body: bytes | None = None

    def to_row(self) -> dict[str, Any]:
        return {
            "time": datetime.fromtimestamp(self.time, UTC),
            "request_id": self.request_id,
            "tenant_id": self.tenant_id,
            "integration_id": self.integration_id,
            "method": self.method,
            "path": self.path,
            "query": self.query,
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
        }


def _mask_text(text: str | None, secret_values: tuple[str, ...]) -> str | None:
    if text is None:
        return None

    for value in secret_values:
        text = text.replace(value, "[secure]")
    return text


class RequestRecorder:
    """Queue of pending entries and the thread that writes them."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._queue: deque[PendingEntry] = deque()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="request-log-writer", daemon=True
        )
        self.written = 0

    @property
    def queue_depth(self) -> int:
        return len(self._queue)

    @property
    def lag_seconds(self) -> float:
        """Age of the oldest entry not yet written, or 0 when all are written."""
        if not self._queue:
            return 0.0
        return max(0.0, time.time() - self._queue[0].time)

    def record(self, entry: PendingEntry) -> None:
        self._queue.append(entry)
        if len(self._queue) >= BATCH_SIZE:
            self._wake.set()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Write every queued entry, then end the writer thread."""
        self._stopping.set()
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(FLUSH_INTERVAL)
            self._wake.clear()
            self._write_all()
        self._write_all()

    def _write_all(self) -> None:
        while self._queue:
            batch = [
                self._queue[index] for index in range(min(BATCH_SIZE, len(self._queue)))
            ]
            if not self._write(batch):
                if self._stopping.is_set():
                    logger.error(
                        "request log not written at shutdown", lost=len(self._queue)
                    )
                    return
                time.sleep(RETRY_DELAY)
                continue
            for _ in batch:
                self._queue.popleft()
            self.written += len(batch)

    def _write(self, batch: list[PendingEntry]) -> bool:
        rows = [entry.to_row() for entry in batch]
        try:
            with self._store.session() as session:
                session.execute(insert(RequestLogEntry), rows)
        except SQLAlchemyError as error:
            logger.error(
                "request log write failed; will retry",
                entries=len(rows),
                error=type(error).__name__,
            )
            return False
        return True
