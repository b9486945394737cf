"""The request log writer's inserts on SQLite and PostgreSQL.

The writer inserts through the database driver, not through SQLAlchemy, so
these tests read its rows back through the models and the log's filters.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import insert, select

from scimrelay.context import AppContext
from scimrelay.requestlog.inserts import insert_records
from scimrelay.requestlog.query import LogFilter
from scimrelay.requestlog.recorder import PendingEntry, RequestRecorder
from scimrelay.store.database import Store
from scimrelay.store.models import RequestLogEntry

MOMENT = datetime(2026, 3, 4, 5, 6, 7, 891234, tzinfo=UTC)
BODY = b'{"userName": "bjensen", "password": "hunter22", "token": "tok-secret"}'
MASKED_BODY = '{"userName":"bjensen","password":"[secure]","token":"[secure]"}'


@pytest.fixture
def store(context: AppContext) -> Store:
    return context.store


@pytest.fixture
def recorder(store: Store, tmp_path: Path) -> Iterator[RequestRecorder]:
    started = RequestRecorder(store, tmp_path / "spool")
    started.start()
    yield started
    started.stop()


def pending(request_id: str, **values: Any) -> PendingEntry:
    fields: dict[str, Any] = {
        "time": MOMENT.timestamp(),
        "request_id": request_id,
        "method": "POST",
        "path": "/scim/v2/integration/Users",
        "query": "attributes=userName",
        "status": 201,
        "duration_ms": 1.23456,
        "client": "127.0.0.1",
    }
    return PendingEntry(**(fields | values))


def stored(
    store: Store, request_filter: LogFilter | None = None
) -> list[dict[str, Any]]:
    query = select(RequestLogEntry).order_by(RequestLogEntry.id)
    if request_filter is not None:
        query = request_filter.apply(query)
    with store.session() as session:
        return [entry.to_dict() for entry in session.scalars(query)]


def test_entry_reads_back_every_field(store: Store, recorder: RequestRecorder) -> None:
    recorder.record(
        pending(
            "request-1",
            tenant_id="tenant",
            integration_id="integration",
            downstream_status=201,
            downstream_ms=0.5,
            error="downstream said tok-secret",
            request_body=BODY,
            response_body=b'{"id": "1"}',
            secret_values=("tok-secret",),
            source="sync:google",
            replay_of=7,
            applied_rules=["drop-empty-values", "lowercase-emails"],
            original_request_body=BODY,
        )
    )
    assert recorder.flush()

    [entry] = stored(store)
    del entry["id"]
    assert entry == {
        "time": MOMENT.isoformat(),
        "request_id": "request-1",
        "tenant_id": "tenant",
        "integration_id": "integration",
        "method": "POST",
        "path": "/scim/v2/integration/Users",
        "query": "attributes=userName",
        "status": 201,
        "downstream_status": 201,
        "duration_ms": 1.235,
        "downstream_ms": 0.5,
        "client": "127.0.0.1",
        "error": "downstream said [secure]",
        "request_body": MASKED_BODY,
        "response_body": '{"id": "1"}',
        "source": "sync:google",
        "replay_of": 7,
        "applied_rules": ["drop-empty-values", "lowercase-emails"],
        "original_request_body": MASKED_BODY,
    }


def test_bare_entry_reads_back_empty_fields(
    store: Store, recorder: RequestRecorder
) -> None:
    recorder.record(pending("request-2"))
    assert recorder.flush()

    [entry] = stored(store)
    assert entry["applied_rules"] == []
    assert entry["request_body"] is None
    assert entry["downstream_ms"] is None
    assert entry["replay_of"] is None


def test_time_filters_match_orm_rows(store: Store) -> None:
    """Rows from the driver compare with bound times like rows from the ORM."""
    earlier = MOMENT - timedelta(microseconds=1)
    with store.engine.begin() as connection:
        insert_records(connection, [pending("driver").to_row()])
        connection.execute(
            insert(RequestLogEntry),
            [{**pending("orm").to_row(), "time": MOMENT, "applied_rules": None}],
        )

    def ids(since: datetime | None, until: datetime | None) -> list[str]:
        entries = stored(store, LogFilter(since=since, until=until))
        return sorted(entry["request_id"] for entry in entries)

    assert ids(MOMENT, None) == ["driver", "orm"]
    assert ids(earlier, MOMENT) == []
    assert ids(None, MOMENT + timedelta(microseconds=1)) == ["driver", "orm"]


def test_older_spool_record_gets_nulls(
    store: Store,
) -> None:
    """A spool written before a column existed lacks its key."""
    record = pending("older").to_row()
    del record["source"], record["applied_rules"], record["original_request_body"]
    with store.engine.begin() as connection:
        insert_records(connection, [record])

    [entry] = stored(store)
    assert entry["request_id"] == "older"
    assert entry["source"] is None
    assert entry["applied_rules"] == []
    assert entry["original_request_body"] is None


def test_ended_spool_stored_without_duplicates(store: Store, tmp_path: Path) -> None:
    """An ended process's records that reached the store are not stored again."""
    with store.engine.begin() as connection:
        insert_records(connection, [pending("request-3").to_row()])
    ended = tmp_path / "spool" / "1-ended"
    ended.mkdir(parents=True)
    lines = [
        orjson.dumps(pending(name).to_row()) for name in ("request-3", "request-4")
    ]
    (ended / "0000000000.jsonl").write_bytes(b"\n".join(lines) + b"\n")

    recorder = RequestRecorder(store, tmp_path / "spool")
    recorder.start()
    recorder.stop()

    assert [entry["request_id"] for entry in stored(store)] == [
        "request-3",
        "request-4",
    ]
    assert not ended.exists()


def test_odd_bytes_stored_with_batch(store: Store, recorder: RequestRecorder) -> None:
    """NUL, invalid UTF-8 and long bodies neither stop the writer nor lose a row."""
    recorder.record(
        pending(
            "odd",
            path="/scim/v2/integration/Users/a\x00b",
            error="downstream said \x00",
            request_body=b'{"userName": "a\x00b\xff\xfe"}',
            response_body=b"\x00" * 10 + b"x" * (200 * 1024),
        )
    )
    recorder.record(pending("after"))
    assert recorder.flush()

    odd, after = stored(store)
    assert after["request_id"] == "after"
    assert odd["path"] == "/scim/v2/integration/Users/a\ufffdb"
    assert odd["error"] == "downstream said \ufffd"
    assert odd["request_body"] == '{"userName": "a\ufffdb\ufffd\ufffd"}'
    assert odd["response_body"].startswith("\ufffd" * 10 + "x")
    assert odd["response_body"].endswith("[139274 characters not logged]")
