"""Validation of integration settings; each failure names the field and fix."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from scimrelay.errors import FieldError, SettingsError

MAX_HEADERS = 5
MAX_HEADER_VALUE_LENGTH = 4096
MAX_NAME_LENGTH = 200
MAX_URL_LENGTH = 2048
MAX_TEMPLATE_LENGTH = 1000
MAX_TOKEN_LENGTH = 8192
DEFAULT_GROUP_DESCRIPTION = "Created via scimrelay for tenant {tenant_id}"
TEMPLATE_PLACEHOLDERS = (
    "tenant_id",
    "tenant_name",
    "integration_id",
    "integration_name",
    "display_name",
)
# RFC 9110 §5.6.2: token = 1*tchar.
HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Headers the relay sets itself or that describe one connection (RFC 9110 §7.6.1).
RESERVED_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "upgrade",
        "x-request-id",
    }
)


@dataclass(frozen=True)
class Header:
    """A custom header; a secret one's value is masked wherever it is shown."""

    name: str
    value: str = field(repr=False)
    secret: bool = False

    def shown(self) -> dict[str, str | bool]:
        value = "[secure]" if self.secret else self.value
        return {"name": self.name, "value": value, "secret": self.secret}


@dataclass
class Checked:
    """Normalised settings plus notices to show the operator."""

    notices: list[str] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)

    def reject(self, field_name: str, message: str) -> None:
        self.errors.append(FieldError(field_name, message))

    def raise_if_rejected(self) -> None:
        if self.errors:
            raise SettingsError(self.errors)


def check_name(value: str, checked: Checked, field_name: str = "name") -> str:
    name = value.strip()
    if not name:
        checked.reject(field_name, "is empty: give a name such as 'Braze production'")
    elif len(name) > MAX_NAME_LENGTH:
        checked.reject(field_name, f"is longer than {MAX_NAME_LENGTH} characters")
    return name


def check_scim_url(value: str, checked: Checked) -> str:
    """Check a downstream SCIM base URL and remove a trailing slash."""
    url = value.strip()
    reason = _scim_url_problem(url)
    if reason:
        checked.reject("scim_url", reason)
        return url

    if url.endswith("/"):
        url = url.rstrip("/")
        checked.notices.append(
            f"scim_url: the trailing slash was removed; the base URL is {url}"
        )
    return url


def _scim_url_problem(url: str) -> str | None:
    if not url:
        return "is empty: give the application's SCIM base URL, such as https://app.example.com/scim/v2"
    if len(url) > MAX_URL_LENGTH:
        return f"is longer than {MAX_URL_LENGTH} characters"
    if any(character.isspace() or ord(character) < 32 for character in url):
        return "contains whitespace or control characters: remove them"

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return f"{url!r} is not a valid URL: check the host and port"
    if parts.scheme not in ("http", "https"):
        return f"must start with https:// or http://, not {parts.scheme or 'nothing'}"
    if not parts.hostname:
        return "has no host name: give an absolute URL such as https://app.example.com/scim/v2"
    if parts.username is not None or parts.password is not None:
        return "must not contain credentials: put the token in the API token field"
    if parts.query or url.rstrip("/").endswith("?"):
        return "must not contain a query string: remove everything from '?'"
    if parts.fragment or "#" in url:
        return "must not contain a fragment: remove everything from '#'"
    return None


def check_headers(headers: list[Header], checked: Checked) -> list[Header]:
    """Check custom header names and values (RFC 9110 §5)."""
    if len(headers) > MAX_HEADERS:
        checked.reject(
            "headers",
            f"{len(headers)} headers given, at most {MAX_HEADERS} are allowed: "
            "remove some",
        )

    seen: set[str] = set()
    result = []
    for position, header in enumerate(headers, start=1):
        name = header.name.strip()
        field_name = f"headers[{position}].name"
        lowered = name.lower()
        if not name:
            checked.reject(
                field_name, "is empty: give a header name such as X-Request-Origin"
            )
        elif not HEADER_NAME.fullmatch(name):
            checked.reject(
                field_name,
                f"{name!r} is not a valid header name: use letters, digits and "
                "!#$%&'*+-.^_`|~ only (RFC 9110 token)",
            )
        elif lowered in RESERVED_HEADERS or lowered.startswith("x-forwarded-"):
            checked.reject(
                field_name,
                f"{name} is set by the relay and cannot be overridden: "
                "put the downstream token in the API token field",
            )
        elif lowered in seen:
            checked.reject(
                field_name, f"{name} is given twice (names are case-insensitive)"
            )
        seen.add(lowered)
        value = _check_header_value(header.value, f"headers[{position}].value", checked)
        result.append(Header(name, value, header.secret))
    return result


def _check_header_value(value: str, field_name: str, checked: Checked) -> str:
    stripped = value.strip(" \t")
    if any(character in stripped for character in "\r\n\0"):
        checked.reject(field_name, "contains CR, LF or NUL: remove line breaks")
    elif len(stripped) > MAX_HEADER_VALUE_LENGTH:
        checked.reject(
            field_name, f"is longer than {MAX_HEADER_VALUE_LENGTH} characters"
        )
    elif any(ord(character) < 32 and character != "\t" for character in stripped):
        checked.reject(field_name, "contains control characters: remove them")
    elif any(ord(character) > 126 for character in stripped):
        checked.reject(field_name, "contains non-ASCII characters: use ASCII only")
    return stripped


def parse_header_line(line: str, *, secret: bool = False) -> Header:
    """Parse ``"Name: value"`` as given on the command line."""
    name, colon, value = line.partition(":")
    if not colon:
        raise SettingsError.single(
            "headers", "a header has no colon: write it as 'Name: value'"
        )
    return Header(name.strip(), value.strip(), secret)


def check_group_description(value: str | None, checked: Checked) -> str:
    """Check a group description template; unknown placeholders are rejected."""
    template = DEFAULT_GROUP_DESCRIPTION if value is None else value.strip()
    if len(template) > MAX_TEMPLATE_LENGTH:
        checked.reject(
            "group_description", f"is longer than {MAX_TEMPLATE_LENGTH} characters"
        )
        return template

    try:
        fields = [
            name
            for _, name, spec, conversion in string.Formatter().parse(template)
            if name is not None
        ]
    except ValueError as error:
        checked.reject(
            "group_description",
            f"is not a valid template ({error}): write literal braces as {{{{ and }}}}",
        )
        return template
    allowed = ", ".join("{" + name + "}" for name in TEMPLATE_PLACEHOLDERS)
    for name in fields:
        if name not in TEMPLATE_PLACEHOLDERS:
            checked.reject(
                "group_description",
                f"has the unknown placeholder {{{name}}}: use {allowed}",
            )
    return template


def check_token(value: str, checked: Checked) -> str:
    token = value.strip()
    if not token:
        checked.reject("token", "is empty: give the application's SCIM API token")
    elif len(token) > MAX_TOKEN_LENGTH:
        checked.reject("token", f"is longer than {MAX_TOKEN_LENGTH} characters")
    elif any(ord(character) < 33 or ord(character) > 126 for character in token):
        checked.reject("token", "contains spaces, line breaks or non-ASCII characters")
    return token
