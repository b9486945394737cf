"""List query parameters and ListResponse pages (RFC 7644 §3.4.2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from scim2_models import SearchRequest

from scimrelay.adapt.capabilities import Capabilities
from scimrelay.adapt.exchange import LIST_SCHEMA, json_body
from scimrelay.adapt.schemas import GROUP_SCHEMA, RESOURCE_SCHEMAS, USER_SCHEMA
from scimrelay.errors import BadGateway, InvalidValue
from scimrelay.relay.client import DownstreamResponse

MAX_COUNT = 1000
DEFAULT_PAGE = 100
PROJECTION = frozenset({"attributes", "excludedattributes"})
ALWAYS_RETURNED = frozenset({"id", "schemas", "meta"})
SEARCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
SEARCH_NAMES = {
    "filter": "filter",
    "startindex": "startIndex",
    "count": "count",
    "cursor": "cursor",
    "sortby": "sortBy",
    "sortorder": "sortOrder",
    "attributes": "attributes",
    "excludedattributes": "excludedAttributes",
}
SEARCH_NUMBERS = frozenset({"startIndex", "count"})
SEARCH_LISTS = frozenset({"attributes", "excludedAttributes"})
BUILTIN_TYPES = (("Users", USER_SCHEMA), ("Groups", GROUP_SCHEMA))


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

    @classmethod
    def from_search(
        cls, request: SearchRequest[Any], expression: str | None
    ) -> ListQuery:
        """Read a SearchRequest (RFC 7644 §3.4.3) as the equivalent GET parameters."""
        found = cls(filter=expression, start=max(1, request.start_index or 1))
        found.count = None if request.count is None else max(0, request.count)
        for name, values in (
            ("attributes", request.attributes),
            ("excludedAttributes", request.excluded_attributes),
        ):
            if values:
                found.others.append((name, ",".join(str(value) for value in values)))
        if request.sort_by is not None:
            found.others.append(("sortBy", str(request.sort_by)))
        if request.sort_order is not None:
            order = request.sort_order
            found.others.append(("sortOrder", str(getattr(order, "value", order))))
        return found

    def wanted(self) -> int:
        """Return how many resources to return, within the relay's bound."""
        wanted = self.count if self.count is not None else DEFAULT_PAGE
        return min(wanted, MAX_COUNT)


def _integer(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InvalidValue(f"{name}={value!r} is not an integer") from None


def query_params(query: ListQuery) -> list[tuple[str, str]]:
    params = list(query.others)
    if query.filter is not None:
        params.append(("filter", query.filter))
    return params


def with_paging(query: ListQuery, start: int, count: int) -> list[tuple[str, str]]:
    return [*query_params(query), ("startIndex", str(start)), ("count", str(count))]


def as_sent(query: ListQuery) -> list[tuple[str, str]]:
    """Return the provider's parameters, paging included, as a GET would send them."""
    params = [*query_params(query), ("startIndex", str(query.start))]
    if query.count is not None:
        params.append(("count", str(query.count)))
    return params


def base_key(path: str, query: ListQuery) -> str:
    return f"{path.lower()}?{urlencode(query_params(query))}"


def search_body(params: list[tuple[str, str]]) -> dict[str, Any]:
    """Turn GET list parameters into a SearchRequest body (RFC 7644 §3.4.3)."""
    body: dict[str, Any] = {"schemas": [SEARCH_SCHEMA]}
    for name, value in params:
        key = SEARCH_NAMES.get(name.lower())
        if key in SEARCH_NUMBERS:
            body[key] = int(value)
        elif key in SEARCH_LISTS:
            body[key] = [part.strip() for part in value.split(",") if part.strip()]
        elif key is not None:
            body[key] = value
    return body


def listed_types(capabilities: Capabilities) -> tuple[tuple[str, str], ...]:
    """Return the endpoint and core schema of every resource type to list."""
    return capabilities.resource_types or BUILTIN_TYPES


def listed_schema(capabilities: Capabilities | None, path: str) -> str | None:
    """Return the core schema of the resource type a list path names, or None.

    ``/Users`` and ``/Groups`` are always resource types; any other endpoint
    counts when the downstream's ``ResourceTypes`` announces it (RFC 7643 §6).
    """
    first = path.strip("/").split("/")[0].lower()
    if first in RESOURCE_SCHEMAS:
        return RESOURCE_SCHEMAS[first]
    if capabilities is None:
        return None
    for endpoint, schema in capabilities.resource_types:
        if endpoint.lower() == first:
            return schema
    return None


def without_projection(query: ListQuery) -> list[tuple[str, str]]:
    return [
        (name, value) for name, value in query.others if name.lower() not in PROJECTION
    ]


def is_list(document: dict[str, Any]) -> bool:
    """Tell a ListResponse (RFC 7644 §3.4.2) from other JSON, left as it is."""
    schemas = document.get("schemas")
    listed = isinstance(schemas, list) and LIST_SCHEMA in schemas
    return listed or "Resources" in document or "totalResults" in document


def resources_of(document: dict[str, Any]) -> list[Any]:
    found = document.get("Resources")
    return found if isinstance(found, list) else []


def page_of(document: dict[str, Any], requested: int) -> tuple[list[Any], int, int]:
    """Return a page's resources, the total and the index of its first resource."""
    resources = resources_of(document)
    total = document.get("totalResults")
    offset = document.get("startIndex")
    if not isinstance(offset, int) or offset < 1:
        offset = requested
    if not isinstance(total, int) or total < 0:
        total = offset - 1 + len(resources)
    if resources and len(resources) >= total:
        offset = 1
    return resources, total, offset


def checked_page(page: DownstreamResponse) -> dict[str, Any]:
    document = json_body(page)
    if page.status != 200 or document is None:
        raise BadGateway(
            f"the downstream returned {page.status} for a list page the relay requested"
        )
    return document


def same_list(original: dict[str, Any], answer: dict[str, Any]) -> bool:
    """Tell whether the downstream's ListResponse already had the right shape."""
    return all(original.get(key) == value for key, value in answer.items())


def project(resource: dict[str, Any], others: list[tuple[str, str]]) -> dict[str, Any]:
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
