"""Integration settings rules: each rejection names the field and the fix."""

import pytest

from scimrelay.errors import SettingsError
from scimrelay.integrations.validation import (
    DEFAULT_GROUP_DESCRIPTION,
    Checked,
    Header,
    check_group_description,
    check_headers,
    check_scim_url,
    check_token,
    parse_header_line,
)


def rejected(check, value) -> list[str]:
    checked = Checked()
    check(value, checked)
    return [str(error) for error in checked.errors]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("", "scim_url: is empty"),
        ("ftp://app.example.com/scim", "must start with https:// or http://"),
        ("app.example.com/scim", "must start with https:// or http://"),
        ("https:///scim/v2", "has no host name"),
        ("https://user:pw@app.example.com/scim", "must not contain credentials"),
        ("https://app.example.com/scim?x=1", "must not contain a query string"),
        ("https://app.example.com/scim#top", "must not contain a fragment"),
        ("https://app.example.com:99999/scim", "is not a valid URL"),
        ("https://app.example.com/sc im", "whitespace or control characters"),
    ],
)
def test_scim_url_rejections_name_field_and_fix(url: str, expected: str) -> None:
    errors = rejected(check_scim_url, url)

    assert len(errors) == 1
    assert errors[0].startswith("scim_url: ")
    assert expected in errors[0]


def test_scim_url_trailing_slash_is_removed_with_notice() -> None:
    checked = Checked()

    url = check_scim_url("https://app.example.com/scim/v2/", checked)

    assert url == "https://app.example.com/scim/v2"
    assert checked.errors == []
    assert checked.notices == [
        "scim_url: the trailing slash was removed; the base URL is "
        "https://app.example.com/scim/v2"
    ]


def test_scim_url_without_trailing_slash_has_no_notice() -> None:
    checked = Checked()

    url = check_scim_url("http://127.0.0.1:8000/scim/v2", checked)

    assert url == "http://127.0.0.1:8000/scim/v2"
    assert checked.notices == []


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([Header("X Bad", "1")], "headers[1].name: 'X Bad' is not a valid header"),
        ([Header("", "1")], "headers[1].name: is empty"),
        ([Header("Authorization", "x")], "is set by the relay"),
        ([Header("host", "x")], "is set by the relay"),
        ([Header("Content-Length", "1")], "is set by the relay"),
        ([Header("Transfer-Encoding", "x")], "is set by the relay"),
        ([Header("Connection", "x")], "is set by the relay"),
        ([Header("Keep-Alive", "x")], "is set by the relay"),
        ([Header("Upgrade", "x")], "is set by the relay"),
        ([Header("Content-Type", "x")], "is set by the relay"),
        ([Header("X-Forwarded-For", "x")], "is set by the relay"),
        (
            [Header("X-Origin", "a"), Header("x-origin", "b")],
            "headers[2].name: x-origin is given twice",
        ),
        ([Header("X-A", "a\r\nX-Evil: 1")], "headers[1].value: contains CR, LF"),
        ([Header("X-A", "a\0b")], "headers[1].value: contains CR, LF or NUL"),
        ([Header("X-A", "a" * 5000)], "headers[1].value: is longer than 4096"),
        ([Header("X-A", "caf\u00e9")], "contains non-ASCII characters"),
        (
            [Header(f"X-H{index}", "v") for index in range(6)],
            "headers: 6 headers given, at most 5 are allowed",
        ),
    ],
)
def test_header_rejections_name_field_and_fix(
    headers: list[Header], expected: str
) -> None:
    errors = rejected(check_headers, headers)

    assert any(expected in error for error in errors), errors


def test_five_valid_headers_are_accepted() -> None:
    headers = [Header(f"X-Header-{index}", f"value {index}") for index in range(5)]

    assert rejected(check_headers, headers) == []


def test_header_line_without_colon_is_rejected() -> None:
    with pytest.raises(SettingsError, match="has no colon"):
        parse_header_line("X-Request-Origin braze")


def test_header_line_is_split_at_first_colon() -> None:
    header = parse_header_line("X-Url: https://example.com:8443")

    assert header == Header("X-Url", "https://example.com:8443")


def test_group_description_defaults_to_tenant_template() -> None:
    checked = Checked()

    template = check_group_description(None, checked)

    assert template == DEFAULT_GROUP_DESCRIPTION
    assert "{tenant_id}" in template
    assert checked.errors == []


def test_group_description_unknown_placeholder_is_rejected() -> None:
    errors = rejected(check_group_description, "Made for {customer}")

    assert len(errors) == 1
    assert "unknown placeholder {customer}" in errors[0]
    assert "{tenant_id}" in errors[0]


def test_group_description_unbalanced_brace_is_rejected() -> None:
    errors = rejected(check_group_description, "Made for {tenant_id")

    assert len(errors) == 1
    assert errors[0].startswith("group_description: is not a valid template")


def test_group_description_known_placeholders_are_accepted() -> None:
    template = "{display_name} of {tenant_name} ({tenant_id}) via {integration_name}"

    assert rejected(check_group_description, template) == []


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("", "token: is empty"),
        ("abc def", "contains spaces"),
        ("abc\ndef", "contains spaces, line breaks"),
        ("x" * 9000, "is longer than"),
    ],
)
def test_token_rejections(token: str, expected: str) -> None:
    errors = rejected(check_token, token)

    assert len(errors) == 1
    assert expected in errors[0]
