"""Request log masking of passwords and known secret values."""

import orjson

from scimrelay.requestlog.masking import MASK, MAX_LOGGED_BODY, mask_body


def test_password_attribute_is_masked_at_any_depth() -> None:
    body = orjson.dumps(
        {
            "userName": "alice",
            "password": "Correct-Horse-7",
            "nested": [{"Password": "other-secret"}],
        }
    )

    masked = mask_body(body, ())

    assert masked is not None
    assert "Correct-Horse-7" not in masked
    assert "other-secret" not in masked
    assert orjson.loads(masked)["password"] == MASK
    assert orjson.loads(masked)["userName"] == "alice"


def test_patch_operation_on_password_path_is_masked() -> None:
    body = orjson.dumps(
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "replace", "path": "password", "value": "New-Secret-9"},
                {"op": "replace", "path": "displayName", "value": "Alice"},
            ],
        }
    )

    masked = mask_body(body, ())

    assert masked is not None
    operations = orjson.loads(masked)["Operations"]
    assert operations[0]["value"] == MASK
    assert operations[1]["value"] == "Alice"


def test_known_secret_values_are_masked_in_text() -> None:
    masked = mask_body(b"<html>token abc123token echoed</html>", ("abc123token",))

    assert masked == f"<html>token {MASK} echoed</html>"


def test_empty_body_is_stored_as_none() -> None:
    assert mask_body(b"", ()) is None
    assert mask_body(None, ()) is None


def test_long_body_is_cut_and_marked() -> None:
    masked = mask_body(b"x" * (MAX_LOGGED_BODY + 10), ())

    assert masked is not None
    assert masked.endswith("... [10 characters not logged]")


def test_body_without_secrets_is_stored_verbatim() -> None:
    body = b'{"userName": "alice",  "active": true}'

    assert mask_body(body, ("unrelated-token",)) == body.decode()
