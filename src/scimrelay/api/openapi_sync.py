"""The OpenAPI description of Google sources and sync runs."""

from __future__ import annotations

from typing import Any

from scimrelay.api.openapi_parts import (
    NULLABLE_TIME,
    STRING,
    TIME,
    list_of,
    obj,
    op,
    path_param,
    query_param,
    ref,
    response,
)
from scimrelay.sync.runs import GROUP_COUNTS, USER_COUNTS
from scimrelay.sync.validation import MAX_INTERVAL_MINUTES, MAX_SELECTORS

INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
STRINGS = {"type": "array", "items": STRING, "maxItems": MAX_SELECTORS}
NULLABLE_STRING = {"type": ["string", "null"]}
MAPPING = {
    "type": "object",
    "additionalProperties": {"type": ["string", "null"]},
    "description": "SCIM attribute to Google field, such as "
    '{"title": "organizations.title"}; null leaves the attribute alone.',
}
SOURCE_SETTINGS: dict[str, Any] = {
    "subject": {"type": "string", "description": "Administrator the account acts as."},
    "customer": {"type": "string", "description": "my_customer or a C0... ID."},
    "domain": {"type": "string", "description": "A domain instead of customer."},
    "org_units": STRINGS,
    "group_patterns": STRINGS,
    "sync_groups": BOOLEAN,
    "delete_users": BOOLEAN,
    "interval_minutes": {
        "type": "integer",
        "minimum": 0,
        "maximum": MAX_INTERVAL_MINUTES,
        "description": "Minutes between scheduled runs; 0 runs only on demand.",
    },
    "api_url": STRING,
    "mapping": MAPPING,
}

SYNC_SCHEMAS: dict[str, Any] = {
    "GoogleSourceInput": obj(
        {
            **SOURCE_SETTINGS,
            "key_json": {
                "type": "string",
                "writeOnly": True,
                "description": "The service account's JSON key, as downloaded. "
                "Required the first time; the stored key is kept when left out.",
            },
        },
        ("subject",),
    ),
    "GoogleSource": obj(
        {
            "integration_id": STRING,
            "client_email": STRING,
            "client_id": STRING,
            "key_id": {"type": "string", "description": "The key's private_key_id."},
            **SOURCE_SETTINGS,
            "customer": NULLABLE_STRING,
            "domain": NULLABLE_STRING,
            "api_url": NULLABLE_STRING,
            "effective_mapping": {"type": "object"},
            "scopes": {"type": "array", "items": STRING},
            "created_at": TIME,
            "updated_at": TIME,
        },
        ("integration_id", "client_email", "key_id", "subject"),
    ),
    "SyncPreview": obj(
        {
            "counts": {"type": "object"},
            "changes": {"type": "array", "items": {"type": "object"}},
            "lines": {"type": "array", "items": STRING},
        },
        ("counts", "changes", "lines"),
    ),
    "SyncRun": obj(
        {
            "id": STRING,
            "integration_id": STRING,
            "source": STRING,
            "trigger": STRING,
            "status": {
                "type": "string",
                "enum": ["running", "succeeded", "partial", "failed", "interrupted"],
            },
            "started_at": TIME,
            "finished_at": NULLABLE_TIME,
            "duration_ms": {"type": ["number", "null"]},
            **dict.fromkeys(USER_COUNTS, INTEGER),
            "groups": obj(dict.fromkeys(GROUP_COUNTS, INTEGER)),
            "errors": {
                "type": "array",
                "items": obj({"object": STRING, "detail": STRING}),
            },
            "detail": NULLABLE_STRING,
        },
        ("id", "integration_id", "status", "started_at"),
    ),
}

INTEGRATION = [path_param("integration_id")]
RUN_LIMIT = {"type": "integer", "minimum": 1, "maximum": 100}
SYNC_ERRORS = {
    "409": response("A run of the integration is under way.", ref("Error")),
    "502": response(
        "Google or the downstream rejected the request or failed.", ref("Error")
    ),
}


def sync_paths() -> dict[str, Any]:
    """Return the paths of Google sources and sync runs."""
    base = "/integrations/{integration_id}"
    return {
        f"{base}/google-source": {
            "parameters": INTEGRATION,
            "get": op(
                "Get Google source",
                {"200": response("The source, without its key.", ref("GoogleSource"))},
            ),
            "put": op(
                "Set Google source",
                {"200": response("Set.", ref("GoogleSource"))},
                body="GoogleSourceInput",
            ),
            "delete": op(
                "Remove Google source",
                {"204": response("Removed; the downstream is left as it is.")},
            ),
        },
        f"{base}/sync/preview": {
            "parameters": INTEGRATION,
            "post": op(
                "Preview sync",
                {
                    "200": response(
                        "The changes a run would make.", ref("SyncPreview")
                    ),
                    **SYNC_ERRORS,
                },
            ),
        },
        f"{base}/sync/runs": {
            "parameters": INTEGRATION,
            "get": op(
                "List sync runs",
                {"200": response("Newest first.", list_of("SyncRun"))},
                params=[query_param("limit", RUN_LIMIT)],
            ),
            "post": op(
                "Start sync run",
                {
                    "202": response("Started; poll the run.", ref("SyncRun")),
                    **SYNC_ERRORS,
                },
            ),
        },
        f"{base}/sync/runs/{{run_id}}": {
            "parameters": [*INTEGRATION, path_param("run_id")],
            "get": op("Get sync run", {"200": response("The run.", ref("SyncRun"))}),
        },
    }
