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
from typing import Any
from urllib.parse import urlencode

import structlog

from scimrelay.adapt.capabilities import Capabilities
from scimrelay.adapt.exchange import (
    Call,
    Sender,
    json_body,
    list_response,
    made_response,
)
from scimrelay.adapt.filters import matches, parse_filter
from scimrelay.adapt.listing import (
    DEFAULT_PAGE,
    MAX_COUNT,
    ListQuery,
    base_key,
    checked_page,
    is_list,
    page_of,
    project,
    query_params,
    resources_of,
    same_list,
    with_paging,
    without_projection,
)
from scimrelay.adapt.schemas import resource_schema
from scimrelay.adapt.settings import Adaptation
from scimrelay.errors import TooManyResults
from scimrelay.relay.client import DownstreamResponse

logger = structlog.get_logger(__name__)

CURSOR_CACHE = 2048


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
            logger.info(
                "downstream returned 404 for a list query; returning an empty list"
            )
            return made_response(200, list_response([], 0, query.start))
        document = json_body(first)
        if first.status != 200 or document is None or not is_list(document):
            return first

        resources, total, offset = page_of(document, query.start)
        wanted = query.count
        skip = max(0, query.start - offset)
        if skip or (wanted is not None and len(resources) > wanted):
            call.note("paging-sliced")
            end = None if wanted is None else skip + wanted
            resources = resources[skip:end]
        elif wanted and len(resources) < min(wanted, total - query.start + 1):
            resources = await self._fill(call, send, query, resources, total)
        answer = list_response(resources, total, query.start)
        if same_list(document, answer):
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
                with_paging(query, start, wanted - len(resources)),
                None,
            )
            document = json_body(page)
            if page.status != 200 or document is None:
                break
            more, _total, _offset = page_of(document, start)
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
                found.append(project(resource, query.others))
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
        total = self._totals.get((call.integration.id, base_key(query)), len(found))
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
        keep = query.others if capabilities.filter else without_projection(query)
        base = ListQuery(keep, query.filter if capabilities.filter else None)
        if capabilities.cursor_only:
            async for item in self._walk_cursors(call, send, base, page_size, start):
                yield item
            return
        index = start
        while True:
            page = await send(
                "GET", call.path, with_paging(base, index, page_size), None
            )
            document = checked_page(page)
            resources, total, offset = page_of(document, index)
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
        key = (call.integration.id, base_key(base))
        index, cursor = self._nearest(key, start)
        while True:
            params = [
                *query_params(base),
                ("cursor", cursor),
                ("count", str(page_size)),
            ]
            document = checked_page(
                await send("GET", call.path, urlencode(params), None)
            )
            resources = resources_of(document)
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
