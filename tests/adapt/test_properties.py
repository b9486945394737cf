"""Property tests: filter handling and PATCH rewriting.

Rewriting a request that is already canonical RFC 7644 changes nothing;
every filter either parses or is a 400 invalidFilter; the relay's filter
evaluation agrees with a plain reading of the same comparison.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scimrelay.adapt.filters import matches, parse_filter
from scimrelay.adapt.patch import apply_patch
from scimrelay.adapt.rules import APPLY, Target
from scimrelay.adapt.schemas import ENTERPRISE_SCHEMA, USER_SCHEMA, builtin_schema_info
from scimrelay.errors import InvalidFilter, InvalidValue

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
TARGET = Target("PATCH", USER_SCHEMA, builtin_schema_info())
ids = st.text(alphabet="abcdef0123456789", min_size=1, max_size=12)
words = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20
)

canonical_operations = st.one_of(
    st.builds(lambda v: {"op": "replace", "path": "displayName", "value": v}, words),
    st.builds(lambda v: {"op": "replace", "path": "active", "value": v}, st.booleans()),
    st.builds(
        lambda v: {
            "op": "add",
            "path": "emails",
            "value": [{"value": v, "primary": True}],
        },
        words,
    ),
    st.builds(lambda v: {"op": "remove", "path": f'members[value eq "{v}"]'}, ids),
    st.builds(
        lambda v: {
            "op": "replace",
            "path": f"{ENTERPRISE_SCHEMA}:manager",
            "value": {"value": v},
        },
        ids,
    ),
    st.builds(
        lambda given, title: {
            "op": "replace",
            "value": {"name": {"givenName": given}, "title": title},
        },
        words,
        words,
    ),
)


def rewrite(document: dict[str, Any]) -> list[str]:
    return [name for name, rule in APPLY.items() if rule(document, TARGET)]


@settings(max_examples=200, deadline=None)
@given(st.lists(canonical_operations, min_size=1, max_size=6))
def test_canonical_patch_is_left_unchanged_by_every_rule(operations: list[Any]) -> None:
    document = {"schemas": [PATCH], "Operations": operations}
    before = copy.deepcopy(document)

    applied = rewrite(document)

    assert applied == []
    assert document == before


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["Add", "REPLACE", "Remove", "rEpLaCe"]))
def test_patch_op_in_any_case_is_lowercased(op: str) -> None:
    document = {
        "schemas": [PATCH],
        "Operations": [{"op": op, "path": "title", "value": "x"}],
    }
    if op.lower() == "remove":
        del document["Operations"][0]["value"]

    APPLY["lowercase-patch-ops"](document, TARGET)

    assert document["Operations"][0]["op"] == op.lower()


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["true", "True", "TRUE", "false", "False", "fAlSe"]))
def test_string_boolean_in_any_case_becomes_boolean(word: str) -> None:
    document = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": "active", "value": word}],
    }

    APPLY["string-booleans"](document, TARGET)

    assert document["Operations"][0]["value"] is (word.lower() == "true")


@settings(max_examples=100, deadline=None)
@given(words.filter(lambda w: w.strip().lower() not in ("true", "false")))
def test_other_string_for_boolean_is_invalid_value(word: str) -> None:
    document = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": "active", "value": word}],
    }

    with pytest.raises(InvalidValue):
        APPLY["string-booleans"](document, TARGET)


@settings(max_examples=50, deadline=None)
@given(st.lists(ids, min_size=1, max_size=8, unique=True))
def test_member_removal_by_value_list_leaves_other_members(removed: list[str]) -> None:
    kept = [f"keep-{number}" for number in range(3)]
    group = {"members": [{"value": member} for member in kept + removed]}
    document = {
        "schemas": [PATCH],
        "Operations": [
            {
                "op": "Remove",
                "path": "members",
                "value": [{"value": r} for r in removed],
            }
        ],
    }

    rewrite(document)
    apply_patch(group, document, "urn:ietf:params:scim:schemas:core:2.0:Group")

    assert [member["value"] for member in group["members"]] == kept
    assert len(document["Operations"]) == len(removed)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_filter_text_parses_or_is_invalid_filter(text: str) -> None:
    try:
        node = parse_filter(text)
    except InvalidFilter as error:
        assert error.status == 400
        assert error.scim_type == "invalidFilter"
    else:
        assert node is not None


@settings(max_examples=200, deadline=None)
@given(words, words, st.sampled_from(["eq", "EQ", "co", "Sw", "ew"]))
def test_string_comparison_is_case_insensitive(
    actual: str, expected: str, op: str
) -> None:
    node = parse_filter(f"userName {op} {json.dumps(expected)}")
    plain = {
        "eq": actual.lower() == expected.lower(),
        "co": expected.lower() in actual.lower(),
        "sw": actual.lower().startswith(expected.lower()),
        "ew": actual.lower().endswith(expected.lower()),
    }[op.lower()]

    assert matches(node, {"USERNAME": actual}, USER_SCHEMA) is plain


@settings(max_examples=100, deadline=None)
@given(words, words)
def test_not_and_or_combine_like_boolean_logic(first: str, second: str) -> None:
    resource = {"userName": first, "title": second}
    left = f"userName eq {json.dumps(first)}"
    right = f"title eq {json.dumps(second + 'x')}"

    assert matches(parse_filter(f"{left} and not ({right})"), resource) is True
    assert matches(parse_filter(f"({left}) or {right}"), resource) is True
    assert matches(parse_filter(f"{left} and {right}"), resource) is False


def test_date_comparison_orders_by_time() -> None:
    resource = {"meta": {"lastModified": "2024-05-13T04:42:34+02:00"}}

    assert matches(
        parse_filter('meta.lastModified gt "2024-05-13T01:00:00Z"'), resource
    )
    assert not matches(
        parse_filter('meta.lastModified gt "2024-05-13T03:00:00Z"'), resource
    )


def test_ordering_a_boolean_is_invalid_filter() -> None:
    with pytest.raises(InvalidFilter):
        matches(parse_filter("active gt true"), {"active": True})
