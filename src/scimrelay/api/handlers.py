"""The admin API's operations; see :mod:`scimrelay.api.openapi` for the contract."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import anyio.from_thread
from starlette.responses import Response, StreamingResponse

from scimrelay.api.framework import ApiCall, json_response
from scimrelay.api.payload import Reader, choice, moment, number
from scimrelay.integrations.service import IntegrationInput
from scimrelay.requestlog import query

EXPORT_LIMIT = 100_000


# Tenants


def list_tenants(call: ApiCall) -> Response:
    return json_response([tenant.to_dict() for tenant in call.ops.tenants()])


def create_tenant(call: ApiCall) -> Response:
    reader = Reader(call.body)
    name = reader.string("name", required=True)
    reader.done()
    return json_response(call.ops.create_tenant(name or "").to_dict(), 201)


def get_tenant(call: ApiCall) -> Response:
    return json_response(call.ops.tenant(call.path("tenant_id")).to_dict())


def delete_tenant(call: ApiCall) -> Response:
    call.ops.delete_tenant(call.path("tenant_id"))
    return Response(status_code=204)


# Integrations


def list_integrations(call: ApiCall) -> Response:
    views = call.ops.integrations(call.query("tenant_id") or None)
    return json_response([view.to_dict() for view in views])


def _integration_input(reader: Reader, creating: bool) -> IntegrationInput:
    return IntegrationInput(
        name=reader.string("name", required=creating),
        scim_url=reader.string("scim_url", required=creating),
        token=reader.string("token", required=creating),
        headers=reader.headers(),
        group_description=reader.string("group_description"),
        force_group_description=reader.boolean("force_group_description"),
        profile=reader.string("profile"),
        disabled_rules=reader.strings("disabled_rules"),
        provider_auth=reader.string("provider_auth"),
    )


def create_integration(call: ApiCall) -> Response:
    reader = Reader(call.body)
    tenant_id = reader.string("tenant_id", required=not call.ops.actor.tenant_id)
    data = _integration_input(reader, creating=True)
    reader.done()
    created = call.ops.create_integration(
        tenant_id or call.ops.actor.tenant_id or "", data
    )
    body = {
        **created.integration.to_dict(),
        "api_key": created.key.plaintext,
        "key_id": created.key.key_id,
        "notices": created.notices,
    }
    return json_response(body, 201)


def get_integration(call: ApiCall) -> Response:
    return json_response(call.ops.integration(call.path("integration_id")).to_dict())


def update_integration(call: ApiCall) -> Response:
    reader = Reader(call.body)
    data = _integration_input(reader, creating=False)
    reader.done()
    view, notices = call.ops.update_integration(call.path("integration_id"), data)
    return json_response({**view.to_dict(), "notices": notices})


def delete_integration(call: ApiCall) -> Response:
    call.ops.delete_integration(call.path("integration_id"))
    return Response(status_code=204)


def test_integration(call: ApiCall) -> Response:
    report = anyio.from_thread.run(
        call.ops.test_integration, call.path("integration_id")
    )
    return json_response(report.to_dict())


def rotate_key(call: ApiCall) -> Response:
    reader = Reader(call.body)
    revoke = reader.boolean("revoke_previous")
    reader.done()
    integration_id = call.path("integration_id")
    key = call.ops.rotate_key(integration_id, bool(revoke))
    body = {"id": integration_id, "key_id": key.key_id, "api_key": key.plaintext}
    return json_response(body, 201)


def revoke_key(call: ApiCall) -> Response:
    integration_id, key_id = call.path("integration_id"), call.path("key_id")
    call.ops.revoke_key(integration_id, key_id)
    return json_response({"id": integration_id, "key_id": key_id, "revoked": True})


# Request log


def _log_filter(call: ApiCall) -> query.LogFilter:
    return call.ops.log_filter(
        integration_id=call.query("integration_id") or None,
        status_class=choice(
            call.query("status_class"), "status_class", query.STATUS_CLASSES
        ),
        method=choice(call.query("method"), "method", query.METHODS),
        resource_type=choice(
            call.query("resource_type"), "resource_type", query.RESOURCE_TYPES
        ),
        since=moment(call.query("since"), "since"),
        until=moment(call.query("until"), "until"),
        text=call.query("q") or None,
        source=call.query("source") or None,
    )


def list_logs(call: ApiCall) -> Response:
    where = _log_filter(call)
    page = number(call.query("page"), "page", 1, 100_000)
    per_page = number(call.query("per_page"), "per_page", 50, 500)
    result = call.ops.log_page(where, page, per_page)
    return json_response(
        {
            "page": result.page,
            "per_page": result.per_page,
            "has_next": result.has_next,
            "entries": [entry.to_dict() for entry in result.entries],
        }
    )


def get_log_entry(call: ApiCall) -> Response:
    return json_response(call.ops.log_entry(int(call.path("entry_id"))).to_dict())


def export_logs(call: ApiCall) -> Response:
    where = _log_filter(call)
    kind = choice(call.query("format"), "format", ("jsonl", "csv")) or "jsonl"
    limit = number(call.query("limit"), "limit", EXPORT_LIMIT, EXPORT_LIMIT)
    rows = call.ops.export(where, limit)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"scimrelay-requests-{stamp}.{kind}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if kind == "csv":
        return StreamingResponse(_csv(rows), media_type="text/csv", headers=headers)
    body = (query.to_json_line(row) for row in rows)
    return StreamingResponse(body, media_type="application/x-ndjson", headers=headers)


def _csv(rows: Iterator[dict[str, object]]) -> Iterator[str]:
    yield query.csv_header()
    for row in rows:
        yield query.to_csv_row(row)


# Admin tokens and the audit trail


def list_tokens(call: ApiCall) -> Response:
    return json_response([token.to_dict() for token in call.ops.tokens()])


def create_token(call: ApiCall) -> Response:
    reader = Reader(call.body)
    name = reader.string("name", required=True)
    reader.done()
    issued = call.ops.create_token(name or "")
    return json_response({**issued.view.to_dict(), "token": issued.plaintext}, 201)


def revoke_token(call: ApiCall) -> Response:
    call.ops.revoke_token(call.path("token_id"))
    return Response(status_code=204)


def list_audit(call: ApiCall) -> Response:
    page = number(call.query("page"), "page", 1, 100_000)
    per_page = number(call.query("per_page"), "per_page", 50, 500)
    events, total = call.ops.audit_events(per_page, (page - 1) * per_page)
    return json_response(
        {"total": total, "page": page, "events": [event.to_dict() for event in events]}
    )
