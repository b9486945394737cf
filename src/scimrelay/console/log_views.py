"""Request log pages: the filtered table, one entry, exports and the live feed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlencode

from starlette.datastructures import QueryParams
from starlette.responses import Response, StreamingResponse

from scimrelay.admin.operations import AdminOperations
from scimrelay.console.framework import Call
from scimrelay.requestlog import query
from scimrelay.requestlog.query import LogFilter

PER_PAGE = 50
FEED_LIMIT = 100
EXPORT_LIMIT = 100_000
FILTER_NAMES = (
    "integration",
    "status",
    "method",
    "resource",
    "range",
    "q",
    "source",
    "since",
    "until",
)


def log_filter(ops: AdminOperations, params: QueryParams) -> LogFilter:
    """Build the filter named by the query string; unknown values are ignored.

    ``since`` and ``until`` are ISO 8601 times, as a sync run's page links
    them; ``range`` is a span that ends now.
    """
    since = _moment(params.get("since"))
    span = query.RANGES.get(params.get("range", ""))
    if span is not None:
        since = datetime.now(UTC) - span
    return ops.log_filter(
        integration_id=params.get("integration") or None,
        status_class=params.get("status") or None,
        method=params.get("method") or None,
        resource_type=params.get("resource") or None,
        since=since,
        until=_moment(params.get("until")),
        text=params.get("q") or None,
        source=params.get("source") or None,
    )


def _moment(raw: str | None) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(raw or "")
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _page_number(raw: str) -> int:
    return int(raw) if raw.isdigit() and 0 < int(raw) < 100_000 else 1


def log_list(call: Call) -> Response:
    params = call.request.query_params
    where = log_filter(call.ops, params)
    page = call.ops.log_page(where, _page_number(params.get("page", "1")), PER_PAGE)
    chosen = {name: params.get(name, "") for name in FILTER_NAMES}
    kept = {name: value for name, value in chosen.items() if value}
    return call.render(
        "logs.html",
        page=page,
        chosen=chosen,
        filter_query=urlencode(kept),
        integrations=call.ops.integrations(),
        names={view.id: view.name for view in call.ops.integrations()},
        choices=_choices(),
        last_id=page.entries[0].id if page.entries else 0,
    )


def _choices() -> dict[str, tuple[str, ...]]:
    return {
        "status": query.STATUS_CLASSES,
        "method": query.METHODS,
        "resource": query.RESOURCE_TYPES,
        "range": tuple(query.RANGES),
    }


def log_feed(call: Call) -> Response:
    """Return the table rows of entries newer than ``after``, for the live view."""
    params = call.request.query_params
    where = log_filter(call.ops, params)
    after = params.get("after", "0")
    where.after_id = min(int(after), query.MAX_ID) if after.isdigit() else 0
    entries = call.ops.log_page(where, 1, FEED_LIMIT).entries
    response = call.render(
        "_log_rows.html",
        entries=entries,
        names={view.id: view.name for view in call.ops.integrations()},
    )
    response.headers["X-Last-Id"] = str(entries[0].id if entries else where.after_id)
    return response


def log_entry(call: Call) -> Response:
    raw = call.request.path_params["entry_id"]
    entry = call.ops.log_entry(int(raw))
    names = {view.id: view.name for view in call.ops.integrations()}
    return call.render("log_entry.html", entry=entry, names=names)


def export(call: Call) -> Response:
    params = call.request.query_params
    where = log_filter(call.ops, params)
    rows = call.ops.export(where, EXPORT_LIMIT)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    if params.get("format") == "csv":
        return _download(_csv(rows), "text/csv", f"scimrelay-requests-{stamp}.csv")
    return _download(
        _jsonl(rows), "application/x-ndjson", f"scimrelay-requests-{stamp}.jsonl"
    )


def _csv(rows: Iterator[dict[str, object]]) -> Iterator[str]:
    yield query.csv_header()
    for row in rows:
        yield query.to_csv_row(row)


def _jsonl(rows: Iterator[dict[str, object]]) -> Iterator[bytes]:
    for row in rows:
        yield query.to_json_line(row)


def _download(
    body: Iterator[str] | Iterator[bytes], media_type: str, name: str
) -> Response:
    return StreamingResponse(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
