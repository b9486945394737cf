"""Downstream error bodies turned into SCIM errors (RFC 7644 §3.12)."""

import orjson

from scimrelay.scim.responses import (
    ERROR_SCHEMA,
    MAX_DETAIL_LENGTH,
    normalise_error_body,
)


def normalised(status: int, content_type: str, body: bytes) -> dict:
    return orjson.loads(normalise_error_body(status, content_type, body))


def test_scim_error_passes_through_unchanged() -> None:
    body = orjson.dumps(
        {"schemas": [ERROR_SCHEMA], "status": "409", "scimType": "uniqueness"}
    )

    assert normalise_error_body(409, "application/scim+json", body) == body


def test_scim_error_with_numeric_status_gets_string_status() -> None:
    body = orjson.dumps({"schemas": [ERROR_SCHEMA], "status": 404, "detail": "x"})

    document = normalised(404, "application/scim+json", body)

    assert document["status"] == "404"
    assert document["detail"] == "x"


def test_html_error_page_becomes_short_scim_error() -> None:
    page = (
        b"<html><head><title>503 Service Temporarily Unavailable</title>"
        b"<style>body{}</style></head><body><h1>Down</h1></body></html>"
    )

    document = normalised(503, "text/html", page)

    assert document["schemas"] == [ERROR_SCHEMA]
    assert document["status"] == "503"
    assert "<" not in document["detail"]
    assert "503 Service Temporarily Unavailable" in document["detail"]


def test_other_json_error_keeps_its_message() -> None:
    body = orjson.dumps({"error": {"message": "user already exists", "code": 17}})

    document = normalised(409, "application/json", body)

    assert document["status"] == "409"
    assert "user already exists" in document["detail"]


def test_plain_text_error_is_collapsed_and_cut() -> None:
    body = b"Bad   request:\n\n" + b"x" * 1000

    document = normalised(400, "text/plain", body)

    prefix = "the downstream SCIM server answered 400: "
    assert document["detail"].startswith(f"{prefix}Bad request: x")
    assert document["detail"].endswith("...")
    assert len(document["detail"]) <= len(prefix) + MAX_DETAIL_LENGTH


def test_empty_error_body_names_the_status() -> None:
    document = normalised(500, "", b"")

    assert document["detail"] == "the downstream SCIM server answered 500: HTTP 500"
