"""Reading JSON request bodies and query strings; each problem names its field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from scimrelay.errors import FieldError, SettingsError
from scimrelay.integrations.validation import Header


class Reader:
    """Collects one error per bad field, then raises them all at once."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.errors: list[FieldError] = []

    def string(self, name: str, *, required: bool = False) -> str | None:
        value = self.document.get(name)
        if value is None:
            if required:
                self.errors.append(FieldError(name, "is required"))
            return None
        if not isinstance(value, str):
            self.errors.append(FieldError(name, "must be a string"))
            return None
        return value

    def strings(self, name: str) -> list[str] | None:
        """Read a list of strings, such as rule names."""
        value = self.document.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(
            isinstance(item, str) for item in value
        ):
            self.errors.append(FieldError(name, "must be a list of strings"))
            return None
        return value

    def boolean(self, name: str) -> bool | None:
        value = self.document.get(name)
        if value is None or isinstance(value, bool):
            return value
        self.errors.append(FieldError(name, "must be true or false"))
        return None

    def headers(self, name: str = "headers") -> list[Header] | None:
        """Read a list of ``{"name": ..., "value": ...}`` objects."""
        value = self.document.get(name)
        if value is None:
            return None
        if not isinstance(value, list):
            self.errors.append(
                FieldError(name, "must be a list of {name, value} objects")
            )
            return None
        headers = []
        for position, item in enumerate(value, start=1):
            header = _header(item, f"{name}[{position}]", self.errors)
            if header is not None:
                headers.append(header)
        return headers

    def done(self) -> None:
        if self.errors:
            raise SettingsError(self.errors)


def _header(item: object, field: str, errors: list[FieldError]) -> Header | None:
    if not isinstance(item, dict):
        errors.append(FieldError(field, "must be an object with name and value"))
        return None
    name, value = item.get("name"), item.get("value", "")
    secret = item.get("secret", False)
    if not isinstance(name, str):
        errors.append(FieldError(f"{field}.name", "must be a string"))
        return None
    if not isinstance(value, str):
        errors.append(FieldError(f"{field}.value", "must be a string"))
        return None
    if not isinstance(secret, bool):
        errors.append(FieldError(f"{field}.secret", "must be true or false"))
        return None
    return Header(name, value, secret)


def moment(raw: str | None, field: str) -> datetime | None:
    """Parse an ISO 8601 time from a query string; naive times are UTC."""
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise SettingsError.single(
            field, f"{raw!r} is not an ISO 8601 time such as 2025-01-31T12:00:00Z"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def number(raw: str | None, field: str, default: int, upper: int) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= upper:
        raise SettingsError.single(field, f"must be a whole number from 1 to {upper}")
    return int(raw)


def choice(raw: str | None, field: str, allowed: tuple[str, ...]) -> str | None:
    if raw is None or raw == "":
        return None
    if raw not in allowed:
        raise SettingsError.single(field, f"must be one of {', '.join(allowed)}")
    return raw
