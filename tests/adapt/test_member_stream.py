"""Splitting a membership PATCH while reading it gives the same requests.

``stream_split`` reads the body with ijson; ``split_members`` works on the
parsed body. For every body the streamed reader takes, both must produce the
same PATCH requests, in the same order.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scimrelay.adapt.member_stream import stream_split
from scimrelay.adapt.members import needs_split, split_members

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def members(count: int, first: int = 0) -> list[dict[str, Any]]:
    return [
        {"value": f"user-{number}", "display": f"User {number}"}
        for number in range(first, first + count)
    ]


def split_by_parsing(document: dict[str, Any], limit: int) -> list[bytes]:
    return [orjson.dumps(body) for body in split_members(document, limit)]


def split_by_streaming(body: bytes, limit: int) -> list[bytes] | None:
    plan = stream_split(body, limit)
    if plan is None:
        return None
    return [orjson.dumps(part) for part in plan.bodies()]


STREAMED_BODIES = {
    "one add": {
        "schemas": [PATCH],
        "Operations": [{"op": "add", "path": "members", "value": members(7)}],
    },
    "value before path, schemas last": {
        "Operations": [
            {"value": members(7), "op": "add", "path": "members", "extra": 1}
        ],
        "schemas": [PATCH],
    },
    "mixed operations": {
        "schemas": [PATCH],
        "Operations": [
            {"op": "Add", "path": "Members", "value": members(3)},
            {"op": "replace", "path": "displayName", "value": "Staff"},
            {"op": "remove", "path": "members", "value": members(5, 100)},
            {"op": "remove", "path": 'members[value eq "user-9"]'},
            "not an operation",
            {"op": "replace", "path": "members", "value": members(4, 200)},
            {"op": "add", "path": "emails", "value": [{"value": 1.5}]},
            {"op": "add", "value": {"displayName": "Staff"}},
        ],
    },
    "empty and small lists": {
        "schemas": [PATCH],
        "Operations": [
            {"op": "add", "path": "members", "value": []},
            {"op": "add", "path": "members", "value": members(2)},
            {"op": "add", "path": "members", "value": members(2, 2)},
        ],
    },
}


@pytest.mark.parametrize("limit", [1, 2, 3])
@pytest.mark.parametrize("name", STREAMED_BODIES)
def test_streamed_split_matches_parsed_split(name: str, limit: int) -> None:
    document = STREAMED_BODIES[name]
    body = orjson.dumps(document)

    streamed = split_by_streaming(body, limit)

    assert needs_split(document, limit)
    assert streamed == split_by_parsing(document, limit)


def test_streamed_split_counts_its_requests() -> None:
    body = orjson.dumps(STREAMED_BODIES["mixed operations"])

    plan = stream_split(body, 2)

    assert plan is not None
    assert plan.total == len(list(plan.bodies()))


@pytest.mark.parametrize(
    "body",
    [
        b'{"schemas":[],"Operations":[{"op":"add","path":"members","value":[{}]}',
        b'[{"op":"add","path":"members","value":[{},{},{}]}]',
        b'{"Operations":[],"Operations":[{"op":"add","path":"members","value":[{},{},{}]}]}',
        b'{"a.b":1,"Operations":[{"op":"add","path":"members","value":[{},{},{}]}]}',
        b'{"Operations":[{"op":"add","value":{"item":[1]}},'
        b'{"op":"add","path":"members","value":[{},{},{}]}]}',
        b'{"Operations":[{"op":"add","path":"members","value":[{},{}],"value":[{}]}]}',
        b'{"Operations":{"op":"add","path":"members","value":[{},{},{}]}}',
        b'{"Operations":[{"op":"add","path":"members","value":[{"n":1e400},{},{}]}]}',
    ],
    ids=[
        "truncated",
        "array body",
        "duplicate Operations",
        "dotted key",
        "value object with item key",
        "duplicate value",
        "Operations not a list",
        "number out of range",
    ],
)
def test_unusual_body_is_not_streamed(body: bytes) -> None:
    assert stream_split(body, 2) is None


def test_body_within_the_limit_is_not_split() -> None:
    body = orjson.dumps(STREAMED_BODIES["one add"])

    assert stream_split(body, 7) is None


member_lists = st.lists(
    st.fixed_dictionaries({"value": st.text(max_size=6)}), max_size=9
)
operations = st.one_of(
    st.builds(
        lambda op, path, value: {"op": op, "path": path, "value": value},
        st.sampled_from(["add", "remove", "replace", "Add"]),
        st.sampled_from(["members", "Members", "emails"]),
        member_lists,
    ),
    st.builds(
        lambda value: {"value": value, "path": "members", "op": "add"}, member_lists
    ),
    st.just({"op": "remove", "path": 'members[value eq "x"]'}),
    st.just({"op": "replace", "path": "displayName", "value": "Staff"}),
)


@given(st.lists(operations, max_size=6), st.integers(min_value=1, max_value=5))
def test_any_change_splits_alike(changes: list[dict[str, Any]], limit: int) -> None:
    document = {"schemas": [PATCH], "Operations": changes}

    streamed = split_by_streaming(orjson.dumps(document), limit)

    if needs_split(document, limit):
        assert streamed == split_by_parsing(document, limit)
    else:
        assert streamed is None
