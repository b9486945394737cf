"""POST ``.search`` (RFC 7644 §3.4.3) with the adaptations of GET list queries.

The SearchRequest goes downstream as sent. Its response is shaped like a GET
list's: paging normalised, short pages filled, 404 read as an empty list. A
downstream without ``.search`` receives a GET list query instead. When the
downstream cannot filter, or pages only with cursors, the relay reads it page
by page. A root
search the downstream lacks is answered by walking every resource type.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import orjson
import structlog
from pydantic import ValidationError
from scim2_models import SearchRequest

from scimrelay.adapt.capabilities import Capabilities
from scimrelay.adapt.exchange import Call, Sender, list_response, made_response
from scimrelay.adapt.filters import matches, parse_filter
from scimrelay.adapt.listing import ListQuery, as_sent, listed_types, project
from scimrelay.adapt.pagination import Listing, Paginator
from scimrelay.adapt.settings import Adaptation
from scimrelay.errors import InvalidFilter, InvalidSyntax, InvalidValue, TooManyResults
from scimrelay.relay.client import DownstreamResponse

logger = structlog.get_logger(__name__)

LACKS_SEARCH = frozenset({404, 405, 501})
INTEGER_PARAMETERS = frozenset({"startindex", "count"})


def read_search(body: bytes | None) -> ListQuery:
    """Read a SearchRequest body; an unparsable filter is 400 ``invalidFilter``."""
    try:
        document = orjson.loads(body or b"")
    except orjson.JSONDecodeError as error:
        raise InvalidSyntax(f"the request body is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise InvalidSyntax("a SearchRequest must be a JSON object")
    _reject_boolean_numbers(document)
    try:
        request: SearchRequest[Any] = SearchRequest.model_validate(document)
    except ValidationError as error:
        raise _search_error(error, document) from None
    expression = document.get("filter")
    return ListQuery.from_search(
        request, expression if isinstance(expression, str) else None
    )


def _reject_boolean_numbers(document: dict[str, Any]) -> None:
    """Raise for ``true`` or ``false`` where a number belongs.

    The model's lax parsing would read them as 1 and 0.
    """
    for name, value in document.items():
        if name.lower() in INTEGER_PARAMETERS and isinstance(value, bool):
            raise InvalidValue(
                f"the SearchRequest is invalid at {name}: expected an integer, "
                f"got {str(value).lower()}"
            )


def _search_error(error: ValidationError, document: dict[str, Any]) -> Exception:
    problem = error.errors()[0]
    if problem["type"] == "scim_invalidFilter":
        return InvalidFilter(
            f"the filter {document.get('filter')!r} is invalid: {problem['msg']}"
        )
    where = ".".join(str(part) for part in problem["loc"]) or "the body"
    return InvalidValue(f"the SearchRequest is invalid at {where}: {problem['msg']}")


class Searcher:
    """Responds to ``.search`` requests on a resource type or the server root."""

    def __init__(self, paginator: Paginator) -> None:
        self.paginator = paginator

    async def answer(
        self,
        call: Call,
        send: Sender,
        known: Capabilities | None,
        load: Callable[[], Awaitable[Capabilities]],
    ) -> DownstreamResponse:
        """Respond to a POST ``.search``; ``call.path`` ends with ``/.search``."""
        query = read_search(call.body)
        settings = Adaptation.from_dict(call.integration.adaptation)
        path = call.path[: -len("/.search")]
        listing = Listing(call, send, query, path, settings, load, known)
        if query.filter is not None:
            await listing.known()
        if not path:
            return await self._root(listing)
        special = await self.paginator.special(listing)
        if special is not None:
            return special

        first = await send("POST", call.path, call.query, call.body)
        if first.status in LACKS_SEARCH:
            call.note("search-as-get")
            logger.info(
                "downstream lacks .search; listing with GET", status=first.status
            )
            first = await send("GET", path, urlencode(as_sent(query)), None)
        else:
            listing.search = True
        return await self.paginator.after_first(listing, first)

    async def _root(self, listing: Listing) -> DownstreamResponse:
        """Search the server root, across resource types where the downstream cannot."""
        capabilities = listing.capabilities
        if listing.query.filter is None or (capabilities and capabilities.filter):
            call = listing.call
            first = await listing.send("POST", call.path, call.query, call.body)
            if first.status not in LACKS_SEARCH:
                listing.search = True
                return await self.paginator.complete(listing, first)
        return await self._across_types(listing)

    async def _across_types(self, listing: Listing) -> DownstreamResponse:
        """Page and filter every resource type in the relay, in announced order."""
        capabilities = await listing.known()
        query = listing.query
        node = parse_filter(query.filter) if query.filter is not None else None
        limit = listing.settings.max_filter_scan
        listing.call.note("searched-in-relay")

        wanted = query.wanted()
        found: list[Any] = []
        total = scanned = 0
        for endpoint, schema in listed_types(capabilities):
            typed = replace(listing, path=f"/{endpoint}", search=False)
            async for resource in self.paginator.walk(typed, 1, filtered=False):
                scanned += 1
                if scanned > limit:
                    raise TooManyResults(
                        f"a search of the server root scans more than {limit} "
                        "resources; search one resource type or narrow the query"
                    )
                if not isinstance(resource, dict):
                    continue
                if node is not None and not matches(node, resource, schema):
                    continue
                total += 1
                if total >= query.start and len(found) < wanted:
                    found.append(project(resource, query.others))

        logger.info(
            "searched the server root in the relay",
            scanned=scanned,
            matched=total,
            max_scan=limit,
        )
        return made_response(200, list_response(found, total, query.start))
