"""List query parameters and ListResponse pages (RFC 7644 §3.4.2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from scimrelay.adapt.exchange import LIST_SCHEMA, json_body
from scimrelay.errors import BadGateway, InvalidValue
from scimrelay.relay.client import DownstreamResponse

MAX_COUNT = 1000
DEFAULT_PAGE = 100
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


def with_paging(query: ListQuery, start: int, count: int) -> str:
    params = [*query_params(query), ("startIndex", str(start)), ("count", str(count))]
    return urlencode(params)


def base_key(query: ListQuery) -> str:
    return urlencode(query_params(query))


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
