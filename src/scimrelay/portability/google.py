"""Google sources in configuration documents: written as references, read back.

An export names the service account's JSON key with a reference to an
environment variable, ``{env: SCIMRELAY_<NAME>_GOOGLE_KEY}``, whose value is the
whole JSON key. ``{file: PATH}`` reads the key from a file instead. An import goes
through :class:`SourceService`, so its checks are those of the CLI, the
console and the admin API.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scimrelay.errors import FieldError, NotFoundError, SettingsError
from scimrelay.portability.document import GoogleSourceSpec, SecretReference, resolve
from scimrelay.sync.service import GoogleSourceInput, SourceService

SECTION = "google_source"
# The service names the key "key_file", after the CLI option.
SERVICE_KEY_FIELD = "key_file"


def export_google(
    sources: SourceService, integration_id: str, stem: str
) -> dict[str, Any] | None:
    """Return the integration's Google source as a document entry, or None."""
    try:
        view = sources.get_google(integration_id)
    except NotFoundError:
        return None
    entry: dict[str, Any] = {
        "key": SecretReference("env", f"{stem}_GOOGLE_KEY").to_yaml(),
        "subject": view.subject,
    }
    entry.update(
        {"customer": view.customer} if view.customer else {"domain": view.domain}
    )
    entry.update(
        org_units=view.org_units,
        group_patterns=view.group_patterns,
        sync_groups=view.sync_groups,
        delete_users=view.delete_users,
        interval_minutes=view.interval_minutes,
    )
    if view.api_url:
        entry["api_url"] = view.api_url
    if view.mapping:
        entry["mapping"] = view.mapping
    return entry


def apply_google(
    sources: SourceService,
    integration_id: str,
    spec: GoogleSourceSpec,
    base_dir: Path,
    environ: Mapping[str, str] | None,
) -> tuple[str, list[str]]:
    """Set the source when a setting or the key differs.

    Return the action and the changed fields. Raise SettingsError naming each
    field under ``google_source``.
    """
    data = _input(spec, base_dir, environ)
    try:
        changed = sources.differences(integration_id, data)
        if changed == []:
            return "unchanged", []
        sources.set_google(integration_id, data)
    except SettingsError as error:
        raise _in_section(error) from None
    return ("created", []) if changed is None else ("updated", changed)


def _input(
    spec: GoogleSourceSpec, base_dir: Path, environ: Mapping[str, str] | None
) -> GoogleSourceInput:
    errors: list[FieldError] = []
    key = resolve(spec.key, f"{SECTION}.key", base_dir, errors, environ)
    if errors:
        raise SettingsError(errors)
    return GoogleSourceInput(
        subject=spec.subject,
        customer=spec.customer,
        domain=spec.domain,
        key_json=key,
        org_units=spec.org_units,
        group_patterns=spec.group_patterns,
        sync_groups=spec.sync_groups,
        delete_users=spec.delete_users,
        interval_minutes=spec.interval_minutes,
        api_url=spec.api_url,
        mapping=spec.mapping,
    )


def _in_section(error: SettingsError) -> SettingsError:
    """Name each field as the document does: ``google_source.subject``."""
    return SettingsError(
        [
            FieldError(
                f"{SECTION}.{'key' if item.field == SERVICE_KEY_FIELD else item.field}",
                item.message,
            )
            for item in error.errors
        ]
    )
