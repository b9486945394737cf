"""The Google source form: reading it, uploading the key, re-showing errors."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from starlette.datastructures import UploadFile

from scimrelay.console.framework import Call
from scimrelay.errors import SettingsError
from scimrelay.sync.service import (
    DEFAULT_INTERVAL_MINUTES,
    GoogleSourceInput,
    GoogleSourceView,
)
from scimrelay.sync.validation import MAX_KEY_BYTES, parse_mapping_lines

KEY_FIELD = "key"
# "org_units[2]" and "mapping.title" are shown next to their whole input.
LIST_FIELD = re.compile(r"(\w+)(?:\[\d+\]|\.[\w.]+)")
LABELS = {
    KEY_FIELD: "Service account key",
    "subject": "Administrator",
    "customer": "Customer ID",
    "domain": "Domain",
    "org_units": "Org units",
    "group_patterns": "Groups",
    "interval_minutes": "Interval",
    "api_url": "Directory API URL",
    "mapping": "Attribute mapping",
}


@dataclass
class SourceForm:
    """The form's values as typed, and one message per field that failed."""

    subject: str = ""
    customer: str = ""
    domain: str = ""
    org_units: str = ""
    group_patterns: str = ""
    sync_groups: bool = True
    delete_users: bool = False
    interval_minutes: str = str(DEFAULT_INTERVAL_MINUTES)
    api_url: str = ""
    mapping: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=lambda: dict(LABELS))

    @classmethod
    def from_view(cls, view: GoogleSourceView | None) -> SourceForm:
        if view is None:
            return cls(customer="my_customer")
        return cls(
            subject=view.subject,
            customer=view.customer or "",
            domain=view.domain or "",
            org_units="\n".join(view.org_units),
            group_patterns="\n".join(view.group_patterns),
            sync_groups=view.sync_groups,
            delete_users=view.delete_users,
            interval_minutes=str(view.interval_minutes),
            api_url=view.api_url or "",
            mapping="\n".join(
                f"{target}={source or ''}" for target, source in view.mapping.items()
            ),
        )

    @classmethod
    def from_call(cls, call: Call) -> SourceForm:
        return cls(
            subject=call.field("subject").strip(),
            customer=call.field("customer").strip(),
            domain=call.field("domain").strip(),
            org_units=call.field("org_units"),
            group_patterns=call.field("group_patterns"),
            sync_groups=call.field("sync_groups") == "on",
            delete_users=call.field("delete_users") == "on",
            interval_minutes=call.field("interval_minutes").strip(),
            api_url=call.field("api_url").strip(),
            mapping=call.field("mapping"),
        )

    def input(self, call: Call) -> GoogleSourceInput:
        """Return the service's input; raise SettingsError for unreadable fields."""
        interval = self.interval_minutes or str(DEFAULT_INTERVAL_MINUTES)
        if not interval.isdigit():
            raise SettingsError.single(
                "interval_minutes",
                "must be a whole number of minutes, such as 60, or 0 to run only "
                "on demand",
            )
        return GoogleSourceInput(
            subject=self.subject,
            customer=self.customer or None,
            domain=self.domain or None,
            key_json=read_key(call),
            org_units=_lines(self.org_units),
            group_patterns=_lines(self.group_patterns),
            sync_groups=self.sync_groups,
            delete_users=self.delete_users,
            interval_minutes=int(interval),
            api_url=self.api_url or None,
            mapping=parse_mapping_lines(_lines(self.mapping)),
        )

    def show_errors(self, error: SettingsError) -> None:
        """Put each field's message next to its input."""
        for item in error.errors:
            match = LIST_FIELD.fullmatch(item.field)
            name = match[1] if match and match[1] in LABELS else item.field
            prefix = "" if name == item.field else f"{item.field}: "
            self.errors.setdefault(name, prefix + item.message)


def read_key(call: Call) -> str | None:
    """Return the uploaded key file, else the pasted key, else None (kept)."""
    upload = call.form.get("key_file") if call.form is not None else None
    if isinstance(upload, UploadFile) and upload.filename:
        data = upload.file.read(MAX_KEY_BYTES + 1)
        if len(data) > MAX_KEY_BYTES:
            raise SettingsError.single(
                KEY_FIELD,
                f"is over {MAX_KEY_BYTES // 1024} KiB: choose the JSON key file "
                "downloaded from Google Cloud",
            )
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise SettingsError.single(
                KEY_FIELD,
                "is not a text file: choose the JSON key file downloaded from "
                "Google Cloud",
            ) from None
    pasted = call.field("key_json").strip()
    return pasted or None


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]
