"""Location rewriting from the downstream's base URL to the relay's."""

import orjson

from scimrelay.relay.rewrite import rewrite_body_locations, rewrite_location

DOWN = "http://127.0.0.1:9000/scim/v2"
RELAY = "https://relay.example.com/scim/v2/abc"


def test_location_under_downstream_base_is_moved() -> None:
    assert rewrite_location(f"{DOWN}/Users/1", DOWN, RELAY) == f"{RELAY}/Users/1"


def test_location_sharing_only_a_prefix_is_kept() -> None:
    other = "http://127.0.0.1:9000/scim/v2beta/Users/1"

    assert rewrite_location(other, DOWN, RELAY) == other


def test_list_response_locations_are_rewritten() -> None:
    body = orjson.dumps(
        {
            "Resources": [
                {"id": "1", "meta": {"location": f"{DOWN}/Users/1"}},
                {"id": "2", "meta": {"location": f"{DOWN}/Users/2"}},
            ]
        }
    )

    document = orjson.loads(rewrite_body_locations(body, DOWN, RELAY))

    assert [item["meta"]["location"] for item in document["Resources"]] == [
        f"{RELAY}/Users/1",
        f"{RELAY}/Users/2",
    ]


def test_bulk_response_locations_are_rewritten() -> None:
    body = orjson.dumps(
        {"Operations": [{"method": "POST", "location": f"{DOWN}/Users/9"}]}
    )

    document = orjson.loads(rewrite_body_locations(body, DOWN, RELAY))

    assert document["Operations"][0]["location"] == f"{RELAY}/Users/9"


def test_body_without_downstream_url_is_returned_as_is() -> None:
    body = b'{"id": "1",  "userName": "alice"}'

    assert rewrite_body_locations(body, DOWN, RELAY) is body


def test_attribute_values_other_than_locations_are_kept() -> None:
    body = orjson.dumps(
        {"profileUrl": f"{DOWN}/Users/1", "meta": {"location": f"{DOWN}/Users/1"}}
    )

    document = orjson.loads(rewrite_body_locations(body, DOWN, RELAY))

    assert document["profileUrl"] == f"{DOWN}/Users/1"
    assert document["meta"]["location"] == f"{RELAY}/Users/1"


def test_references_to_downstream_are_rewritten() -> None:
    body = orjson.dumps(
        {
            "groups": [{"value": "g1", "$ref": f"{DOWN}/Groups/g1"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "manager": {"value": "m1", "$ref": f"{DOWN}/Users/m1"}
            },
        }
    )

    document = orjson.loads(rewrite_body_locations(body, DOWN, RELAY))

    manager = document["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
    assert document["groups"][0]["$ref"] == f"{RELAY}/Groups/g1"
    assert manager["manager"]["$ref"] == f"{RELAY}/Users/m1"
