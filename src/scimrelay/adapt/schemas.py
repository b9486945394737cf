"""What the downstream's ``/Schemas`` says about attributes (RFC 7643 §7)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from scim2_models import EnterpriseUser, Group, User

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
RESOURCE_SCHEMAS = {"users": USER_SCHEMA, "groups": GROUP_SCHEMA}
COMMON_READ_ONLY = frozenset({"id", "meta"})


@dataclass(frozen=True, slots=True)
class Attribute:
    """The facts of one attribute that the rules act on."""

    type: str
    multi_valued: bool
    mutability: str


@dataclass(frozen=True)
class SchemaInfo:
    """Attributes by ``urn|name`` and ``urn|name.sub``, all in lower case."""

    urns: frozenset[str]
    attributes: dict[str, Attribute]
    announced: bool

    def lookup(self, urn: str, name: str) -> Attribute | None:
        """Return an attribute of a schema; names are case-insensitive."""
        return self.attributes.get(f"{urn.lower()}|{name.lower()}")

    def knows(self, urn: str) -> bool:
        return urn.lower() in self.urns

    def read_only(self, urn: str, name: str) -> bool:
        """Tell whether an attribute may not be written (RFC 7643 §7)."""
        if name.lower() in COMMON_READ_ONLY:
            return True
        found = self.lookup(urn, name)
        return found is not None and found.mutability == "readOnly"


def schema_info(documents: Iterable[dict[str, Any]], announced: bool) -> SchemaInfo:
    """Index the attributes of ``Schema`` documents."""
    urns: set[str] = set()
    attributes: dict[str, Attribute] = {}
    for document in documents:
        urn = str(document.get("id", "")).lower()
        if not urn:
            continue
        urns.add(urn)
        _index(urn, "", document.get("attributes") or [], attributes)
    return SchemaInfo(frozenset(urns), attributes, announced)


def _index(urn: str, prefix: str, items: list[Any], into: dict[str, Attribute]) -> None:
    for item in items:
        if not isinstance(item, dict) or not item.get("name"):
            continue
        name = prefix + str(item["name"]).lower()
        into[f"{urn}|{name}"] = Attribute(
            type=str(item.get("type", "string")),
            multi_valued=bool(item.get("multiValued", False)),
            mutability=str(item.get("mutability", "readWrite")),
        )
        if not prefix:
            _index(urn, name + ".", item.get("subAttributes") or [], into)


@cache
def builtin_documents() -> tuple[dict[str, Any], ...]:
    """Return the RFC 7643 User, Group and enterprise User schema documents."""
    return tuple(
        model.to_schema().model_dump(mode="json", exclude_none=True)
        for model in (User, Group, EnterpriseUser)
    )


@cache
def builtin_schema_info() -> SchemaInfo:
    """Return what RFC 7643 defines, for downstreams without ``/Schemas``."""
    return schema_info(builtin_documents(), announced=False)


def resource_schema(path: str) -> str | None:
    """Return the core schema of the resource type a relative path names."""
    first = path.strip("/").split("/")[0].lower()
    return RESOURCE_SCHEMAS.get(first)
