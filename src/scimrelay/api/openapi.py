"""The admin API's OpenAPI 3.1 document."""

from __future__ import annotations

from functools import cache
from typing import Any

from scimrelay import __version__
from scimrelay.adapt.catalog import RULES
from scimrelay.adapt.profiles import PROFILES
from scimrelay.adapt.settings import PROVIDER_AUTH
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
from scimrelay.api.openapi_sync import SYNC_SCHEMAS, sync_paths
from scimrelay.integrations.validation import MAX_HEADERS
from scimrelay.requestlog.query import (
    MAX_ID,
    METHODS,
    RESOURCE_TYPES,
    STATUS_CLASSES,
)

PROFILE = {
    "type": "string",
    "enum": list(PROFILES),
    "description": "Identity provider profile: which rewrite rules apply.",
}
DISABLED_RULES = {
    "type": "array",
    "items": {"type": "string", "enum": [rule.name for rule in RULES]},
    "description": "Rules of the profile switched off; each must be in the profile.",
}
PROVIDER_AUTH_MODE = {
    "type": "string",
    "enum": list(PROVIDER_AUTH),
    "description": "basic also accepts HTTP Basic with the SCIM API key as password.",
}
ADAPTATION_FIELDS = {
    "profile": PROFILE,
    "disabled_rules": DISABLED_RULES,
    "provider_auth": PROVIDER_AUTH_MODE,
}


SCHEMAS: dict[str, Any] = {
    "Error": obj(
        {
            "error": STRING,
            "message": STRING,
            "errors": {
                "type": "array",
                "items": obj(
                    {"field": STRING, "message": STRING}, ("field", "message")
                ),
            },
        },
        ("error", "message"),
    ),
    "Tenant": obj({"id": STRING, "name": STRING, "created_at": TIME}, ("id", "name")),
    "TenantInput": obj({"name": {"type": "string", "minLength": 1}}, ("name",)),
    "Header": obj(
        {"name": STRING, "value": STRING, "secret": {"type": "boolean"}},
        ("name", "value"),
    ),
    "Key": obj(
        {"id": STRING, "created_at": TIME, "revoked_at": NULLABLE_TIME}, ("id",)
    ),
    "Integration": obj(
        {
            "id": STRING,
            "tenant_id": STRING,
            "name": STRING,
            "scim_url": STRING,
            "scim_base_path": STRING,
            "header_names": {"type": "array", "items": STRING},
            "group_description": STRING,
            "force_group_description": {"type": "boolean"},
            "created_at": TIME,
            "updated_at": TIME,
            "keys": {"type": "array", "items": ref("Key")},
            **ADAPTATION_FIELDS,
        },
        ("id", "tenant_id", "name", "scim_url", "scim_base_path"),
    ),
    "IntegrationInput": obj(
        {
            "tenant_id": {"type": "string", "description": "Required for owners."},
            "name": STRING,
            "scim_url": {"type": "string", "description": "Downstream SCIM base URL."},
            "token": {"type": "string", "writeOnly": True},
            "headers": {
                "type": "array",
                "items": ref("Header"),
                "maxItems": MAX_HEADERS,
            },
            "group_description": STRING,
            "force_group_description": {"type": "boolean"},
            **ADAPTATION_FIELDS,
        },
        ("name", "scim_url", "token"),
    ),
    "IntegrationUpdate": obj(
        {
            "name": STRING,
            "scim_url": STRING,
            "token": {"type": "string", "writeOnly": True},
            "headers": {
                "type": "array",
                "items": ref("Header"),
                "maxItems": MAX_HEADERS,
            },
            "group_description": STRING,
            "force_group_description": {"type": "boolean"},
            **ADAPTATION_FIELDS,
        }
    ),
    "IssuedKey": obj({"id": STRING, "key_id": STRING, "api_key": STRING}),
    "ConnectionReport": obj(
        {"ok": {"type": "boolean"}, "code": STRING, "message": STRING, "hint": STRING},
        ("ok", "code", "message", "hint"),
    ),
    "LogEntry": obj(
        {
            "id": {"type": "integer"},
            "time": TIME,
            "request_id": STRING,
            "method": STRING,
            "path": STRING,
            "status": {"type": "integer"},
            "downstream_status": {"type": ["integer", "null"]},
            "duration_ms": {"type": "number"},
            "downstream_ms": {"type": ["number", "null"]},
        },
        ("id", "time", "method", "path", "status"),
    ),
    "LogPage": obj(
        {
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "has_next": {"type": "boolean"},
            "entries": {"type": "array", "items": ref("LogEntry")},
        },
        ("page", "entries"),
    ),
    "Token": obj(
        {"id": STRING, "name": STRING, "created_at": TIME, "revoked_at": NULLABLE_TIME},
        ("id", "name"),
    ),
    "TokenInput": obj({"name": {"type": "string", "minLength": 1}}, ("name",)),
    "AuditPage": obj(
        {
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "events": {"type": "array"},
        },
        ("total", "events"),
    ),
}


LOG_FILTERS = [
    query_param("integration_id"),
    query_param("status_class", {"type": "string", "enum": list(STATUS_CLASSES)}),
    query_param("method", {"type": "string", "enum": list(METHODS)}),
    query_param("resource_type", {"type": "string", "enum": list(RESOURCE_TYPES)}),
    query_param("since", TIME, "Entries at or after this time."),
    query_param("until", TIME, "Entries before this time."),
    query_param("q", STRING, "Text in the path or a userName."),
    query_param("source", STRING, "Who sent the requests, such as sync:google."),
]
PAGING = [
    query_param("page", {"type": "integer", "minimum": 1}),
    query_param("per_page", {"type": "integer", "minimum": 1, "maximum": 500}),
]
INTEGRATION = [path_param("integration_id")]


def paths() -> dict[str, Any]:
    no_content = {"204": response("Done.")}
    return {
        "/tenants": {
            "get": op(
                "List tenants", {"200": response("Visible tenants.", list_of("Tenant"))}
            ),
            "post": op(
                "Create tenant",
                {"201": response("Created.", ref("Tenant"))},
                body="TenantInput",
            ),
        },
        "/tenants/{tenant_id}": {
            "parameters": [path_param("tenant_id")],
            "get": op("Get tenant", {"200": response("The tenant.", ref("Tenant"))}),
            "delete": op("Delete tenant", no_content),
        },
        "/integrations": {
            "get": op(
                "List integrations",
                {"200": response("Visible integrations.", list_of("Integration"))},
                params=[query_param("tenant_id")],
            ),
            "post": op(
                "Create integration",
                {
                    "201": response(
                        "Created; the SCIM API key is shown once.", ref("Integration")
                    )
                },
                body="IntegrationInput",
            ),
        },
        "/integrations/{integration_id}": {
            "parameters": INTEGRATION,
            "get": op(
                "Get integration",
                {"200": response("The integration.", ref("Integration"))},
            ),
            "patch": op(
                "Update integration",
                {"200": response("Updated.", ref("Integration"))},
                body="IntegrationUpdate",
            ),
            "delete": op("Delete integration", no_content),
        },
        "/integrations/{integration_id}/test": {
            "parameters": INTEGRATION,
            "post": op(
                "Test integration",
                {"200": response("The diagnosis.", ref("ConnectionReport"))},
            ),
        },
        "/integrations/{integration_id}/rotate-key": {
            "parameters": INTEGRATION,
            "post": op(
                "Rotate key",
                {"201": response("The new key, shown once.", ref("IssuedKey"))},
            ),
        },
        "/integrations/{integration_id}/keys/{key_id}/revoke": {
            "parameters": [*INTEGRATION, path_param("key_id")],
            "post": op("Revoke key", {"200": response("Revoked.")}),
        },
        **sync_paths(),
        "/logs": {
            "get": op(
                "Query request log",
                {"200": response("Entries, newest first.", ref("LogPage"))},
                params=[*LOG_FILTERS, *PAGING],
            )
        },
        "/logs/export": {
            "get": op(
                "Export request log",
                {
                    "200": {
                        "description": "JSON lines or CSV.",
                        "content": {"application/x-ndjson": {}, "text/csv": {}},
                    }
                },
                params=[
                    *LOG_FILTERS,
                    query_param("format", {"type": "string", "enum": ["jsonl", "csv"]}),
                    query_param(
                        "limit", {"type": "integer", "minimum": 1, "maximum": 100000}
                    ),
                ],
            )
        },
        "/logs/{entry_id}": {
            "parameters": [
                path_param(
                    "entry_id", {"type": "integer", "minimum": 0, "maximum": MAX_ID}
                )
            ],
            "get": op(
                "Get log entry", {"200": response("The entry.", ref("LogEntry"))}
            ),
        },
        "/tokens": {
            "get": op(
                "List tokens",
                {"200": response("Your admin API tokens.", list_of("Token"))},
            ),
            "post": op(
                "Create token",
                {"201": response("Created; shown once.", ref("Token"))},
                body="TokenInput",
            ),
        },
        "/tokens/{token_id}": {
            "parameters": [path_param("token_id")],
            "delete": op("Revoke token", no_content),
        },
        "/audit": {
            "get": op(
                "List audit events",
                {"200": response("Newest first.", ref("AuditPage"))},
                params=PAGING,
            ),
        },
    }


@cache
def document() -> dict[str, Any]:
    """Return the OpenAPI document of the admin API."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "scimrelay admin API",
            "version": __version__,
            "description": "Tenants, integrations, Google sources and sync runs, "
            "request log and admin tokens. "
            "Authenticate with an admin API token created in the console.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "schemas": {**SCHEMAS, **SYNC_SCHEMAS},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "paths": paths(),
    }
