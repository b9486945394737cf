"""Reading the request log: filters, pages, exports and per-integration figures.

Shared by the console, the admin API and the ``logs`` command. Every query
takes the tenants the reader may see, so the access rules apply here too.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from scimrelay.store.models import RequestLogEntry

STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
RESOURCE_TYPES = (
    "Users",
    "Groups",
    "Bulk",
    ".search",
    "ServiceProviderConfig",
    "Schemas",
    "ResourceTypes",
)
RANGES = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
EXPORT_FIELDS = (
    "id",
    "time",
    "request_id",
    "tenant_id",
    "integration_id",
    "method",
    "path",
    "query",
    "status",
    "downstream_status",
    "duration_ms",
    "downstream_ms",
    "client",
    "error",
    "request_body",
    "response_body",
)
MAX_TEXT_LENGTH = 200
# The largest id a BIGINT column can contain; larger numbers name no entry.
MAX_ID = 2**63 - 1
# The activity chart counts 1xx to 3xx responses as "2xx", the successes.
CHART_CLASSES = ("2xx", "4xx", "5xx")


@dataclass
class LogFilter:
    """A selection of log entries; ``tenant_ids`` None means every tenant."""

    tenant_ids: Sequence[str] | None = None
    integration_id: str | None = None
    status_class: str | None = None
    method: str | None = None
    resource_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
    after_id: int | None = None
    # Who sent the requests, such as "sync:google"; None keeps every sender.
    source: str | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        """Narrow a query on the request log to the entries this filter keeps."""
        for condition in self._conditions():
            query = query.where(condition)
        return query

    def _conditions(self) -> Iterator[Any]:
        entry = RequestLogEntry
        if self.tenant_ids is not None:
            yield entry.tenant_id.in_(list(self.tenant_ids))
        if self.integration_id:
            yield entry.integration_id == self.integration_id
        if self.status_class in STATUS_CLASSES:
            low = int(self.status_class[0]) * 100
            yield entry.status.between(low, low + 99)
        if self.method in METHODS:
            yield entry.method == self.method
        if self.resource_type in RESOURCE_TYPES:
            yield _resource_condition(self.resource_type)
        if self.since is not None:
            yield entry.time >= self.since
        if self.until is not None:
            yield entry.time < self.until
        if self.text:
            yield _text_condition(self.text[:MAX_TEXT_LENGTH])
        if self.after_id is not None:
            yield entry.id > self.after_id
        if self.source:
            yield entry.source == self.source


def _resource_condition(resource_type: str) -> Any:
    path = RequestLogEntry.path
    return or_(
        path.like(f"/scim/v2/%/{resource_type}"),
        path.like(f"/scim/v2/%/{resource_type}/%"),
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _text_condition(text: str) -> Any:
    """Match the path, or a userName in either body (RFC 7643 §4.1.1)."""
    needle = _escape_like(text)
    user_name = f'%"userName":"%{needle}%'
    return or_(
        RequestLogEntry.path.ilike(f"%{needle}%", escape="\\"),
        RequestLogEntry.request_body.ilike(user_name, escape="\\"),
        RequestLogEntry.response_body.ilike(user_name, escape="\\"),
    )


@dataclass
class Page:
    entries: list[RequestLogEntry]
    page: int
    per_page: int
    has_next: bool


def search(
    session: Session, where: LogFilter, page: int = 1, per_page: int = 50
) -> Page:
    """Return one page of matching entries, newest first."""
    page = max(page, 1)
    query = (
        where.apply(select(RequestLogEntry))
        .order_by(RequestLogEntry.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
    )
    entries = list(session.scalars(query))
    return Page(entries[:per_page], page, per_page, len(entries) > per_page)


def newest(session: Session, where: LogFilter, limit: int) -> list[RequestLogEntry]:
    return search(session, where, 1, limit).entries


def get_entry(
    session: Session, entry_id: int, where: LogFilter
) -> RequestLogEntry | None:
    query = where.apply(select(RequestLogEntry).where(RequestLogEntry.id == entry_id))
    entry: RequestLogEntry | None = session.scalar(query)
    return entry


def batch(
    session: Session, where: LogFilter, before_id: int | None, size: int
) -> list[dict[str, Any]]:
    """Return up to ``size`` matching entries older than ``before_id``, newest first."""
    query = where.apply(select(RequestLogEntry)).order_by(RequestLogEntry.id.desc())
    if before_id is not None:
        query = query.where(RequestLogEntry.id < before_id)
    return [row.to_dict() for row in session.scalars(query.limit(size))]


def to_json_line(entry: dict[str, Any]) -> bytes:
    return orjson.dumps(entry) + b"\n"


def csv_header() -> str:
    return _csv_row(list(EXPORT_FIELDS))


def to_csv_row(entry: dict[str, Any]) -> str:
    return _csv_row(
        ["" if entry[name] is None else entry[name] for name in EXPORT_FIELDS]
    )


def _csv_row(values: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([_defuse(value) for value in values])
    return buffer.getvalue()


def _defuse(value: Any) -> Any:
    """Keep spreadsheets from running a cell as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


@dataclass(frozen=True)
class Stats:
    last_request: datetime | None
    total: int
    errors: int

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.total if self.total else None


def integration_stats(
    session: Session, integration_ids: Sequence[str], since: datetime
) -> dict[str, Stats]:
    """Return the last request time and error counts since ``since`` per integration."""
    if not integration_ids:
        return {}
    entry = RequestLogEntry
    recent = case((entry.time >= since, 1), else_=0)
    failed = case(((entry.time >= since) & (entry.status >= 400), 1), else_=0)
    query = (
        select(
            entry.integration_id,
            func.max(entry.time),
            func.sum(recent),
            func.sum(failed),
        )
        .where(entry.integration_id.in_(list(integration_ids)))
        .group_by(entry.integration_id)
    )
    return {
        row[0]: Stats(row[1], int(row[2] or 0), int(row[3] or 0))
        for row in session.execute(query)
    }


@dataclass
class Bucket:
    start: datetime
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(CHART_CLASSES, 0)
    )
    durations: list[float] = field(default_factory=list)

    @property
    def p95(self) -> float | None:
        return percentile(self.durations, 0.95)


def percentile(values: list[float], fraction: float) -> float | None:
    """Return the nearest-rank percentile of ``values``, or None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def hourly_activity(
    session: Session, integration_id: str, hours: int, end: datetime | None = None
) -> list[Bucket]:
    """Return one bucket per hour for the last ``hours`` hours, oldest first."""
    end = (end or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    end += timedelta(hours=1)
    start = end - timedelta(hours=hours)
    buckets = [Bucket(start + timedelta(hours=index)) for index in range(hours)]
    query = select(
        RequestLogEntry.time, RequestLogEntry.status, RequestLogEntry.duration_ms
    ).where(
        RequestLogEntry.integration_id == integration_id,
        RequestLogEntry.time >= start,
    )
    for moment, status, duration in session.execute(query):
        index = int((moment - start).total_seconds() // 3600)
        if 0 <= index < hours:
            bucket = buckets[index]
            bucket.counts[_status_class(status)] += 1
            bucket.durations.append(float(duration))
    return buckets


def _status_class(status: int) -> str:
    if status >= 500:
        return "5xx"
    if status >= 400:
        return "4xx"
    return "2xx"
