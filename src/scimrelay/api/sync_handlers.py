"""Admin API operations on an integration's Google source and its sync runs."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from scimrelay.api.framework import ApiCall, json_response
from scimrelay.api.payload import Reader, number
from scimrelay.errors import FieldError, NotFoundError
from scimrelay.sync.service import DEFAULT_INTERVAL_MINUTES, GoogleSourceInput

KEY_FIELD = "key_json"
MAX_RUNS = 100


def get_google_source(call: ApiCall) -> Response:
    integration_id = call.path("integration_id")
    view = call.ops.sources.google(integration_id)
    if view is None:
        raise NotFoundError(f"integration {integration_id} has no Google source")
    return json_response(view.to_dict())


def set_google_source(call: ApiCall) -> Response:
    integration_id = call.path("integration_id")
    # Look the integration up first: another tenant's gets 404, not 422.
    call.ops.integration(integration_id)
    reader = Reader(call.body)
    data = _source_input(reader)
    reader.done()
    view = call.ops.sources.set_google(integration_id, data, KEY_FIELD)
    return json_response(view.to_dict())


def delete_google_source(call: ApiCall) -> Response:
    call.ops.sources.remove_google(call.path("integration_id"))
    return Response(status_code=204)


def preview_sync(call: ApiCall) -> Response:
    plan = call.ops.sources.preview(call.path("integration_id"))
    return json_response({**plan.to_dict(), "lines": plan.describe()})


def start_sync(call: ApiCall) -> Response:
    integration_id = call.path("integration_id")
    report = call.ops.sources.start_run(integration_id, "api")
    location = f"/api/v1/integrations/{integration_id}/sync/runs/{report.id}"
    return json_response(report.to_dict(), 202, {"Location": location})


def list_sync_runs(call: ApiCall) -> Response:
    limit = number(call.query("limit"), "limit", 20, MAX_RUNS)
    reports = call.ops.sources.runs(call.path("integration_id"), limit)
    return json_response([report.to_dict() for report in reports])


def get_sync_run(call: ApiCall) -> Response:
    report = call.ops.sources.run(call.path("integration_id"), call.path("run_id"))
    return json_response(report.to_dict())


def _source_input(reader: Reader) -> GoogleSourceInput:
    """Read a source's settings; lists and the mapping are checked for type here."""
    interval = reader.document.get("interval_minutes", DEFAULT_INTERVAL_MINUTES)
    if isinstance(interval, bool) or not isinstance(interval, int):
        reader.errors.append(
            FieldError("interval_minutes", "must be a whole number of minutes")
        )
        interval = DEFAULT_INTERVAL_MINUTES
    return GoogleSourceInput(
        subject=reader.string("subject", required=True) or "",
        customer=reader.string("customer"),
        domain=reader.string("domain"),
        key_json=reader.string(KEY_FIELD),
        org_units=_strings(reader, "org_units"),
        group_patterns=_strings(reader, "group_patterns"),
        sync_groups=_flag(reader, "sync_groups", True),
        delete_users=_flag(reader, "delete_users", False),
        interval_minutes=interval,
        api_url=reader.string("api_url"),
        mapping=_mapping(reader),
    )


def _flag(reader: Reader, name: str, default: bool) -> bool:
    value = reader.boolean(name)
    return default if value is None else value


def _strings(reader: Reader, name: str) -> list[str]:
    value = reader.document.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(i, str) for i in value):
        reader.errors.append(FieldError(name, "must be a list of strings"))
        return []
    return value


def _mapping(reader: Reader) -> dict[str, str | None]:
    value: Any = reader.document.get("mapping")
    if value is None:
        return {}
    valid = isinstance(value, dict) and all(
        isinstance(item, str | None) for item in value.values()
    )
    if not valid:
        reader.errors.append(
            FieldError(
                "mapping",
                "must map SCIM attributes to Google fields, such as "
                '{"title": "organizations.title"}, or to null to leave one alone',
            )
        )
        return {}
    return dict(value)
