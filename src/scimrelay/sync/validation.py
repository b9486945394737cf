"""Validation of Google source settings; each failure names the field and fix."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import orjson
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from scimrelay.errors import SettingsError
from scimrelay.integrations.validation import Checked

MAX_KEY_BYTES = 64 * 1024
MAX_SELECTORS = 100
MAX_INTERVAL_MINUTES = 7 * 24 * 60
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
CUSTOMER = re.compile(r"[A-Za-z0-9_]{1,64}")
DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}")
KEY_FIELDS = ("client_email", "client_id", "private_key", "token_uri")


def check_key(text: str, checked: Checked) -> dict[str, Any]:
    """Check a service-account JSON key as downloaded from Google Cloud."""
    info = _parse_key(text) if len(text) <= MAX_KEY_BYTES else None
    problem = _key_problem(info)
    if problem is not None or info is None:
        checked.reject("key_file", problem or "is empty")
        return {}
    return info


def _parse_key(text: str) -> dict[str, Any] | None:
    try:
        info = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if isinstance(info, dict) and info.get("type") == "service_account":
        return info
    return None


def _key_problem(info: dict[str, Any] | None) -> str | None:
    if info is None:
        return (
            "is not a service-account JSON key: in Google Cloud, open the service "
            "account's Keys tab, add a JSON key and pass the downloaded file"
        )
    missing = [name for name in KEY_FIELDS if not isinstance(info.get(name), str)]
    if missing:
        return f"lacks {', '.join(missing)}: download a new JSON key"
    problem = _private_key_problem(info["private_key"])
    if problem is not None:
        return problem

    # The value is left out: no part of the key is shown back.
    if not _absolute_url(info["token_uri"]):
        return "has a token_uri that is not an absolute URL: download a new JSON key"
    return None


def _private_key_problem(pem: str) -> str | None:
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        return "has a private_key that is not a PEM private key: download a new key"
    if not isinstance(key, RSAPrivateKey):
        return "has a private_key that is not an RSA key: download a new JSON key"
    return None


def _absolute_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def check_subject(value: str, checked: Checked) -> str:
    subject = value.strip()
    if not EMAIL.fullmatch(subject):
        checked.reject(
            "subject",
            "is not an email address: give the administrator the service account "
            "acts as, such as admin@example.com",
        )
    return subject


def check_scope(
    customer: str | None, domain: str | None, checked: Checked
) -> tuple[str | None, str | None]:
    """Check that exactly one of customer ID and domain is given."""
    customer = (customer or "").strip() or None
    domain = (domain or "").strip().lower() or None
    if (customer is None) == (domain is None):
        checked.reject(
            "customer",
            "give either a customer ID (my_customer, or the C0... ID from the Admin "
            "console's Account settings) or a domain, not both and not neither",
        )
    elif customer is not None and not CUSTOMER.fullmatch(customer):
        checked.reject(
            "customer", "is not a customer ID such as my_customer or C03az79cb"
        )
    elif domain is not None and not DOMAIN.fullmatch(domain):
        checked.reject("domain", "is not a domain name such as example.com")
    return customer, domain


def check_org_units(units: list[str], checked: Checked) -> list[str]:
    """Check org unit paths (``/Sales/EMEA``) and remove trailing slashes."""
    result = []
    for position, unit in enumerate(units, start=1):
        path = unit.strip()
        path = path.rstrip("/") or "/"
        if not path.startswith("/") or "//" in path:
            checked.reject(
                f"org_units[{position}]",
                f"{unit!r} is not an org unit path: write it from the root, such "
                "as /Sales or /Sales/EMEA",
            )
        result.append(path)
    _check_count(result, "org_units", checked)
    return list(dict.fromkeys(result))


def check_group_patterns(patterns: list[str], checked: Checked) -> list[str]:
    """Check group emails or shell-style patterns such as ``eng-*@example.com``."""
    result = []
    for position, pattern in enumerate(patterns, start=1):
        value = pattern.strip().lower()
        if not value or any(character.isspace() for character in value):
            checked.reject(
                f"group_patterns[{position}]",
                "must be a group email or a pattern without spaces, such as "
                "eng-*@example.com",
            )
        result.append(value)
    _check_count(result, "group_patterns", checked)
    return list(dict.fromkeys(result))


def _check_count(items: list[str], field_name: str, checked: Checked) -> None:
    if len(items) > MAX_SELECTORS:
        checked.reject(field_name, f"has {len(items)} entries, at most {MAX_SELECTORS}")


def check_interval(minutes: int, checked: Checked) -> int:
    if not 0 <= minutes <= MAX_INTERVAL_MINUTES:
        checked.reject(
            "interval_minutes",
            f"must be between 0 (only on demand) and {MAX_INTERVAL_MINUTES} (one week)",
        )
    return minutes


def check_api_url(value: str | None, checked: Checked) -> str | None:
    if not value:
        return None
    url = value.strip().rstrip("/")
    if not _absolute_url(url) or urlsplit(url).query:
        checked.reject(
            "api_url",
            "must be an absolute URL without a query, such as "
            "https://admin.googleapis.com",
        )
    return url


def parse_mapping_lines(lines: Iterable[str]) -> dict[str, str | None]:
    """Parse ``TARGET=FIELD`` lines; ``TARGET=`` leaves the target unmapped."""
    mapping: dict[str, str | None] = {}
    for line in lines:
        target, separator, field = line.partition("=")
        if not separator or not target.strip():
            raise SettingsError.single(
                "mapping",
                f"{line!r} is not TARGET=FIELD: write title=organizations.title, "
                "or title= to leave title alone",
            )
        mapping[target.strip()] = field.strip() or None
    return mapping
