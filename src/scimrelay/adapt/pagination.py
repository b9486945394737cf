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
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson
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
    listed_schema,
    page_of,
    project,
    query_params,
    resources_of,
    same_list,
    search_body,
    with_paging,
    without_projection,
)
from scimrelay.adapt.settings import Adaptation
from scimrelay.errors import TooManyResults
from scimrelay.relay.client import DownstreamResponse

logger = structlog.get_logger(__name__)

CURSOR_CACHE = 2048
Params = list[tuple[str, str]]


@dataclass
class Listing:
    """One list query: the provider's call, its parameters and its resource type.

    ``path`` is the resource type's path (``/Users``, or empty for the server
    root). With ``search`` set, the relay's own page requests go to
    ``path/.search`` as SearchRequest bodies instead of GET query strings.
    """

    call: Call
    send: Sender
    query: ListQuery
    path: str
    settings: Adaptation
    load: Callable[[], Awaitable[Capabilities]]
    capabilities: Capabilities | None = None
    search: bool = False

    async def known(self) -> Capabilities:
        """Return the downstream's capabilities, reading them on first need."""
        if self.capabilities is None:
            self.capabilities = await self.load()
        return self.capabilities

    async def page(self, params: Params) -> DownstreamResponse:
        """Request one page of the list from the downstream."""
        if self.search:
            body = orjson.dumps(search_body(params))
            return await self.send("POST", f"{self.path}/.search", "", body)
        return await self.send("GET", self.path, urlencode(params), None)


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
        settings = Adaptation.from_dict(call.integration.adaptation)
        query = ListQuery.parse(call.query)
        listing = Listing(call, send, query, call.path, settings, load, known)
        if query.filter is not None:
            await listing.known()
        special = await self.special(listing)
        if special is not None:
            return special

        first = await send("GET", call.path, call.query, None)
        return await self.after_first(listing, first)

    async def after_first(
        self, listing: Listing, first: DownstreamResponse
    ) -> DownstreamResponse:
        """Shape the downstream's first response, reading capabilities after a 400."""
        if first.status == 400 and listing.capabilities is None:
            await listing.known()
            special = await self.special(listing)
            if special is not None:
                return special
        return await self.complete(listing, first)

    async def special(self, listing: Listing) -> DownstreamResponse | None:
        """Filter or walk cursors in the relay where the downstream needs it."""
        capabilities = listing.capabilities
        if capabilities is None or listed_schema(capabilities, listing.path) is None:
            return None
        if listing.query.filter is not None and not capabilities.filter:
            return await self.filter_here(listing)
        if capabilities.cursor_only:
            return await self._by_cursor(listing)
        return None

    async def complete(
        self, listing: Listing, first: DownstreamResponse
    ) -> DownstreamResponse:
        """Normalise a ListResponse, slicing or filling it to the requested page."""
        query = listing.query
        if first.status == 404 and await self._empty_on_404(listing):
            return made_response(200, list_response([], 0, query.start))
        if await self._filter_rejected(listing, first):
            return await self.filter_here(listing)
        document = json_body(first)
        if first.status != 200 or document is None or not is_list(document):
            return first

        resources, total, offset = page_of(document, query.start)
        wanted = query.count
        skip = max(0, query.start - offset)
        if skip or (wanted is not None and len(resources) > wanted):
            listing.call.note("paging-sliced")
            end = None if wanted is None else skip + wanted
            resources = resources[skip:end]
        elif wanted and len(resources) < min(wanted, total - query.start + 1):
            resources = await self._fill(listing, resources, total)
        answer = list_response(resources, total, query.start)
        if same_list(document, answer):
            return first
        return made_response(200, answer)

    async def _empty_on_404(self, listing: Listing) -> bool:
        """Tell whether a 404 on a resource type's list means an empty list."""
        if not listing.settings.list_404_empty or not await _listable(listing):
            return False
        listing.call.note("list-404-as-empty")
        logger.info("downstream returned 404 for a list query; returning an empty list")
        return True

    async def _filter_rejected(
        self, listing: Listing, response: DownstreamResponse
    ) -> bool:
        """Tell whether the downstream rejected a filter the relay can evaluate.

        A downstream that filters on some attributes only rejects the others
        with 400 ``invalidFilter``; the relay then filters by itself.
        """
        if response.status != 400 or listing.query.filter is None:
            return False
        document = json_body(response) or {}
        if str(document.get("scimType", "")).lower() != "invalidfilter":
            return False
        parse_filter(listing.query.filter)
        if not await _listable(listing):
            return False
        logger.info(
            "downstream rejected the filter; filtering in the relay",
            detail=str(document.get("detail", ""))[:200],
        )
        return True

    async def _fill(
        self, listing: Listing, resources: list[Any], total: int
    ) -> list[Any]:
        """Fetch further pages after a downstream capped ``count``."""
        listing.call.note("paging-filled")
        query = listing.query
        wanted = min(query.count or 0, MAX_COUNT)
        while resources and len(resources) < wanted:
            start = query.start + len(resources)
            if start > total:
                break
            page = await listing.page(
                with_paging(query, start, wanted - len(resources))
            )
            document = json_body(page)
            if page.status != 200 or document is None:
                break
            more, _total, _offset = page_of(document, start)
            if not more:
                break
            resources.extend(more[: wanted - len(resources)])
        return resources

    async def filter_here(self, listing: Listing) -> DownstreamResponse:
        """Filter in the relay, scanning at most ``max_filter_scan`` resources."""
        query = listing.query
        assert query.filter is not None
        node = parse_filter(query.filter)
        core = listed_schema(await listing.known(), listing.path) or ""
        limit = listing.settings.max_filter_scan
        listing.call.note("filtered-in-relay")
        wanted = query.wanted()
        found: list[Any] = []
        total = scanned = 0
        async for resource in self.walk(listing, 1, filtered=False):
            scanned += 1
            if scanned > limit:
                raise TooManyResults(
                    "the downstream cannot filter and has more than "
                    f"{limit} resources to scan; narrow the query"
                )
            if not isinstance(resource, dict) or not matches(node, resource, core):
                continue
            total += 1
            if total >= query.start and len(found) < wanted:
                found.append(project(resource, query.others))
        logger.info(
            "filtered in the relay", scanned=scanned, matched=total, max_scan=limit
        )
        return made_response(200, list_response(found, total, query.start))

    async def _by_cursor(self, listing: Listing) -> DownstreamResponse:
        """Answer an index-paged query from a cursor-only downstream (RFC 9865)."""
        listing.call.note("cursor-paging")
        query = listing.query
        capabilities = await listing.known()
        wanted = query.wanted()
        found: list[Any] = []
        walker = self.walk(listing, query.start, filtered=capabilities.filter)
        if wanted:
            async for resource in walker:
                found.append(resource)
                if len(found) >= wanted:
                    break
        key = (listing.call.integration.id, base_key(listing.path, query))
        total = self._totals.get(key, len(found))
        return made_response(
            200, list_response(found, max(total, len(found)), query.start)
        )

    async def walk(
        self, listing: Listing, start: int, *, filtered: bool
    ) -> AsyncIterator[Any]:
        """Yield the downstream's resources from index ``start`` on, page by page.

        With ``filtered`` false, neither the filter nor the projection goes
        downstream, since the relay evaluates the filter on whole resources.
        """
        capabilities = await listing.known()
        query = listing.query
        page_size = min(capabilities.max_results or DEFAULT_PAGE, MAX_COUNT)
        keep = query.others if filtered else without_projection(query)
        base = ListQuery(keep, query.filter if filtered else None)
        if capabilities.cursor_only:
            async for item in self._walk_cursors(listing, base, page_size, start):
                yield item
            return
        index = start
        while True:
            page = await listing.page(with_paging(base, index, page_size))
            if page.status == 404 and await self._empty_on_404(listing):
                return
            document = checked_page(page)
            resources, total, offset = page_of(document, index)
            resources = resources[index - offset :]
            for resource in resources:
                yield resource
            index += len(resources)
            if not resources or index > total:
                return

    async def _walk_cursors(
        self, listing: Listing, base: ListQuery, page_size: int, start: int
    ) -> AsyncIterator[Any]:
        """Walk RFC 9865 cursors, starting from the nearest one remembered."""
        key = (listing.call.integration.id, base_key(listing.path, base))
        index, cursor = self._nearest(key, start)
        while True:
            params = [
                *query_params(base),
                ("cursor", cursor),
                ("count", str(page_size)),
            ]
            document = checked_page(await listing.page(params))
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


async def _listable(listing: Listing) -> bool:
    """Tell whether the path names a resource type, reading capabilities if needed."""
    if listed_schema(listing.capabilities, listing.path) is not None:
        return True
    return listed_schema(await listing.known(), listing.path) is not None
