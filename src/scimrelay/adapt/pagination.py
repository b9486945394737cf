"""List queries: paging, relay-side filtering and ListResponse shape.

RFC 7644 §3.4.2.4 pages with ``startIndex`` (1-based) and ``count``; RFC 9865
pages with opaque cursors. The relay asks the downstream for what the provider
asked, then fills short pages, slices lists the downstream did not page, walks
cursors for index-paged providers, and filters itself where the downstream
cannot (RFC 7644 §3.4.2.2). At most one downstream page and one answer page
are held at a time, so memory stays bounded however long the list.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import structlog

from scimrelay.adapt.capabilities import Capabilities
from scimrelay.adapt.exchange import (
    LIST_SCHEMA,
    Call,
    Sender,
    json_body,
    list_response,
    made_response,
)
from scimrelay.adapt.filters import matches, parse_filter
from scimrelay.adapt.schemas import resource_schema
from scimrelay.adapt.settings import Adaptation
from scimrelay.errors import BadGateway, InvalidValue, TooManyResults
from scimrelay.relay.client import DownstreamResponse

logger = structlog.get_logger(__name__)

MAX_COUNT = 1000
DEFAULT_PAGE = 100
CURSOR_CACHE = 2048
PROJECTION = frozenset({"attributes", "excludedattributes"})
ALWAYS_RETURNED = frozenset({"id", "schemas", "meta"})


@dataclass
class ListQuery:
    """The provider's list parameters, read once."""

    others: list[tuple[str, str]] = field(default_factory=list)
    filter: str | None = None
    start: int = 1
    count: int | None = None

    @classmethod
    def parse(cls, query: str) -> ListQuery:
        found = cls()
        for name, value in parse_qsl(query, keep_blank_values=True):
            lowered = name.lower()
            if lowered == "filter":
                found.filter = value
            elif lowered == "startindex":
                found.start = max(1, _integer(name, value))
            elif lowered == "count":
                found.count = max(0, _integer(name, value))
            elif lowered != "cursor":
                found.others.append((name, value))
        return found

    def wanted(self) -> int:
        """Return how many resources to answer with, within the relay's bound."""
        wanted = self.count if self.count is not None else DEFAULT_PAGE
        return min(wanted, MAX_COUNT)


def _integer(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InvalidValue(f"{name}={value!r} is not an integer") from None


class Paginator:
    """Answers list queries for every integration; keeps recent cursors."""

    def __init__(self) -> None:
        self._cursors: OrderedDict[tuple[str, str, int], str] = OrderedDict()
        self._totals: dict[tuple[str, str], int] = {}

    async def answer(
        self,
        call: Call,
        send: Sender,
        known: Capabilities | None,
        load: Callable[[], Awaitable[Capabilities]],
    ) -> DownstreamResponse:
        """Answer a GET list query (RFC 7644 §3.4.2).

        The downstream's capabilities are read only for a filtered query, or
        after the downstream refused index paging; otherwise the query goes
        downstream as it is.
        """
        query = ListQuery.parse(call.query)
        settings = Adaptation.from_dict(call.integration.adaptation)
        capabilities = known
        if query.filter is not None and capabilities is None:
            capabilities = await load()
        special = await self._special(call, send, capabilities, query, settings)
        if special is not None:
            return special

        first = await send("GET", call.path, call.query, None)
        if first.status == 400 and capabilities is None:
            capabilities = await load()
            special = await self._special(call, send, capabilities, query, settings)
            if special is not None:
                return special
        return await self._complete(call, send, query, first, settings)

    async def _special(
        self,
        call: Call,
        send: Sender,
        capabilities: Capabilities | None,
        query: ListQuery,
        settings: Adaptation,
    ) -> DownstreamResponse | None:
        if capabilities is None:
            return None
        if query.filter is not None and not capabilities.filter:
            return await self._filter_here(call, send, capabilities, query, settings)
        if capabilities.cursor_only:
            return await self._by_cursor(call, send, capabilities, query)
        return None

    async def _complete(
        self,
        call: Call,
        send: Sender,
        query: ListQuery,
        first: DownstreamResponse,
        settings: Adaptation,
    ) -> DownstreamResponse:
        if first.status == 404 and settings.list_404_empty:
            call.note("list-404-as-empty")
            logger.info("downstream answered 404 to a list query; answering empty")
            return made_response(200, list_response([], 0, query.start))
        document = json_body(first)
        if first.status != 200 or document is None or not _is_list(document):
            return first

        resources, total, offset = _page_of(document, query.start)
        wanted = query.count
        skip = max(0, query.start - offset)
        if skip or (wanted is not None and len(resources) > wanted):
            call.note("paging-sliced")
            end = None if wanted is None else skip + wanted
            resources = resources[skip:end]
        elif wanted and len(resources) < min(wanted, total - query.start + 1):
            resources = await self._fill(call, send, query, resources, total)
        answer = list_response(resources, total, query.start)
        if _same_list(document, answer):
            return first
        return made_response(200, answer)

    async def _fill(
        self,
        call: Call,
        send: Sender,
        query: ListQuery,
        resources: list[Any],
        total: int,
    ) -> list[Any]:
        """Fetch further pages after a downstream capped ``count``."""
        call.note("paging-filled")
        wanted = min(query.count or 0, MAX_COUNT)
        while resources and len(resources) < wanted:
            start = query.start + len(resources)
            if start > total:
                break
            page = await send(
                "GET",
                call.path,
                _with_paging(query, start, wanted - len(resources)),
                None,
            )
            document = json_body(page)
            if page.status != 200 or document is None:
                break
            more, _total, _offset = _page_of(document, start)
            if not more:
                break
            resources.extend(more[: wanted - len(resources)])
        return resources

    async def _filter_here(
        self,
        call: Call,
        send: Sender,
        capabilities: Capabilities,
        query: ListQuery,
        settings: Adaptation,
    ) -> DownstreamResponse:
        """Filter in the relay, scanning at most ``max_filter_scan`` resources."""
        assert query.filter is not None
        node = parse_filter(query.filter)
        core = resource_schema(call.path) or ""
        call.note("filtered-in-relay")
        wanted = query.wanted()
        found: list[Any] = []
        total = scanned = 0
        async for resource in self._walk(call, send, capabilities, query, 1):
            scanned += 1
            if scanned > settings.max_filter_scan:
                raise TooManyResults(
                    "the downstream cannot filter and has more than "
                    f"{settings.max_filter_scan} resources to scan; narrow the query"
                )
            if not isinstance(resource, dict) or not matches(node, resource, core):
                continue
            total += 1
            if total >= query.start and len(found) < wanted:
                found.append(_project(resource, query.others))
        logger.info("filtered in the relay", scanned=scanned, matched=total)
        return made_response(200, list_response(found, total, query.start))

    async def _by_cursor(
        self,
        call: Call,
        send: Sender,
        capabilities: Capabilities,
        query: ListQuery,
    ) -> DownstreamResponse:
        """Answer an index-paged query from a cursor-only downstream (RFC 9865)."""
        call.note("cursor-paging")
        wanted = query.wanted()
        found: list[Any] = []
        walker = self._walk(call, send, capabilities, query, query.start)
        if wanted:
            async for resource in walker:
                found.append(resource)
                if len(found) >= wanted:
                    break
        total = self._totals.get((call.integration.id, _base(query)), len(found))
        return made_response(
            200, list_response(found, max(total, len(found)), query.start)
        )

    async def _walk(
        self,
        call: Call,
        send: Sender,
        capabilities: Capabilities,
        query: ListQuery,
        start: int,
    ) -> AsyncIterator[Any]:
        """Yield the downstream's resources from index ``start`` on, page by page."""
        page_size = min(capabilities.max_results or DEFAULT_PAGE, MAX_COUNT)
        keep = query.others if capabilities.filter else _without_projection(query)
        base = ListQuery(keep, query.filter if capabilities.filter else None)
        if capabilities.cursor_only:
            async for item in self._walk_cursors(call, send, base, page_size, start):
                yield item
            return
        index = start
        while True:
            page = await send(
                "GET", call.path, _with_paging(base, index, page_size), None
            )
            document = _checked(page)
            resources, total, offset = _page_of(document, index)
            resources = resources[index - offset :]
            for resource in resources:
                yield resource
            index += len(resources)
            if not resources or index > total:
                return

    async def _walk_cursors(
        self,
        call: Call,
        send: Sender,
        base: ListQuery,
        page_size: int,
        start: int,
    ) -> AsyncIterator[Any]:
        """Walk RFC 9865 cursors, starting from the nearest one remembered."""
        key = (call.integration.id, _base(base))
        index, cursor = self._nearest(key, start)
        while True:
            params = [*_params(base), ("cursor", cursor), ("count", str(page_size))]
            document = _checked(await send("GET", call.path, urlencode(params), None))
            resources = _resources(document)
            if isinstance(document.get("totalResults"), int):
                if len(self._totals) >= CURSOR_CACHE:
                    self._totals.clear()
                self._totals[key] = document["totalResults"]
            for resource in resources:
                if index >= start:
                    yield resource
                index += 1
            following = document.get("nextCursor")
            if not resources or not isinstance(following, str) or not following:
                return
            cursor = following
            self._remember(key, index, cursor)

    def _nearest(self, key: tuple[str, str], start: int) -> tuple[int, str]:
        best = (1, "")
        for (integration_id, base, index), cursor in self._cursors.items():
            if (integration_id, base) == key and best[0] < index <= start:
                best = (index, cursor)
        return best

    def _remember(self, key: tuple[str, str], index: int, cursor: str) -> None:
        self._cursors[(*key, index)] = cursor
        self._cursors.move_to_end((*key, index))
        while len(self._cursors) > CURSOR_CACHE:
            self._cursors.popitem(last=False)


def _params(query: ListQuery) -> list[tuple[str, str]]:
    params = list(query.others)
    if query.filter is not None:
        params.append(("filter", query.filter))
    return params


def _with_paging(query: ListQuery, start: int, count: int) -> str:
    params = [*_params(query), ("startIndex", str(start)), ("count", str(count))]
    return urlencode(params)


def _base(query: ListQuery) -> str:
    return urlencode(_params(query))


def _without_projection(query: ListQuery) -> list[tuple[str, str]]:
    return [
        (name, value) for name, value in query.others if name.lower() not in PROJECTION
    ]


def _is_list(document: dict[str, Any]) -> bool:
    """Tell a ListResponse (RFC 7644 §3.4.2) from other JSON, left as it is."""
    schemas = document.get("schemas")
    listed = isinstance(schemas, list) and LIST_SCHEMA in schemas
    return listed or "Resources" in document or "totalResults" in document


def _resources(document: dict[str, Any]) -> list[Any]:
    found = document.get("Resources")
    return found if isinstance(found, list) else []


def _page_of(document: dict[str, Any], requested: int) -> tuple[list[Any], int, int]:
    """Return a page's resources, the total and the index of its first resource."""
    resources = _resources(document)
    total = document.get("totalResults")
    offset = document.get("startIndex")
    if not isinstance(offset, int) or offset < 1:
        offset = requested
    if not isinstance(total, int) or total < 0:
        total = offset - 1 + len(resources)
    if resources and len(resources) >= total:
        offset = 1
    return resources, total, offset


def _checked(page: DownstreamResponse) -> dict[str, Any]:
    document = json_body(page)
    if page.status != 200 or document is None:
        raise BadGateway(
            f"the downstream answered {page.status} to a list page the relay asked for"
        )
    return document


def _same_list(original: dict[str, Any], answer: dict[str, Any]) -> bool:
    """Tell whether the downstream's ListResponse already had the right shape."""
    return all(original.get(key) == value for key, value in answer.items())


def _project(resource: dict[str, Any], others: list[tuple[str, str]]) -> dict[str, Any]:
    """Apply ``attributes``/``excludedAttributes`` by top-level name (§3.4.2.5)."""
    for name, value in others:
        names = {_top(part) for part in value.split(",") if part.strip()}
        if name.lower() == "attributes":
            resource = {
                key: item
                for key, item in resource.items()
                if key.lower() in names | ALWAYS_RETURNED
            }
        elif name.lower() == "excludedattributes":
            resource = {
                key: item for key, item in resource.items() if key.lower() not in names
            }
    return resource


def _top(part: str) -> str:
    part = part.strip()
    if part.lower().startswith("urn:"):
        return part.rpartition(":")[0].lower()
    return part.split(".")[0].lower()
