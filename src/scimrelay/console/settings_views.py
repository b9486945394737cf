"""Tenants, admins, admin API tokens and the audit trail."""

from __future__ import annotations

from starlette.responses import Response

from scimrelay.admin.access import ROLES
from scimrelay.console.framework import Call, redirect
from scimrelay.errors import SettingsError

AUDIT_PER_PAGE = 50


def tenant_list(
    call: Call, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    tenants = call.ops.tenants()
    counts = {tenant.id: 0 for tenant in tenants}
    for view in call.ops.integrations():
        counts[view.tenant_id] = counts.get(view.tenant_id, 0) + 1
    return call.render(
        "tenants.html",
        status,
        tenants=tenants,
        counts=counts,
        errors=errors or {},
        name=call.field("name"),
    )


def tenant_create(call: Call) -> Response:
    try:
        call.ops.create_tenant(call.field("name"))
    except SettingsError as error:
        return tenant_list(call, _errors(error), 422)
    return redirect("/tenants")


def tenant_delete(call: Call) -> Response:
    call.ops.delete_tenant(call.request.path_params["tenant_id"])
    return redirect("/tenants")


def admin_list(
    call: Call, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    return call.render(
        "admins.html",
        status,
        admins=call.ops.admins(),
        tenants=call.ops.tenants(),
        roles=ROLES,
        errors=errors or {},
        email=call.field("email"),
        role=call.field("role", "tenant_admin"),
        tenant_id=call.field("tenant_id"),
    )


def admin_create(call: Call) -> Response:
    role = call.field("role")
    try:
        call.ops.create_admin(
            call.field("email"),
            call.field("password"),
            role,
            call.field("tenant_id") or None if role == "tenant_admin" else None,
        )
    except SettingsError as error:
        return admin_list(call, _errors(error), 422)
    return redirect("/admins")


def admin_delete(call: Call) -> Response:
    user_id = call.request.path_params["user_id"]
    try:
        call.ops.delete_admin(user_id)
    except SettingsError as error:
        return admin_list(call, _errors(error), 422)
    if user_id == call.actor.user_id:
        return redirect("/login")
    return redirect("/admins")


def token_list(
    call: Call, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    flash = call.pop_flash()
    return call.render(
        "tokens.html",
        status,
        tokens=call.ops.tokens(),
        issued=flash if "token" in flash else None,
        errors=errors or {},
    )


def token_create(call: Call) -> Response:
    try:
        issued = call.ops.create_token(call.field("name"))
    except SettingsError as error:
        return token_list(call, _errors(error), 422)
    return call.redirect_with("/tokens", token=issued.plaintext, name=issued.view.name)


def token_revoke(call: Call) -> Response:
    call.ops.revoke_token(call.request.path_params["token_id"])
    return redirect("/tokens")


def audit_list(call: Call) -> Response:
    raw = call.param("page", "1")
    page = int(raw) if raw.isdigit() and 0 < int(raw) < 100_000 else 1
    events, total = call.ops.audit_events(AUDIT_PER_PAGE, (page - 1) * AUDIT_PER_PAGE)
    return call.render(
        "audit.html",
        events=events,
        page=page,
        has_next=page * AUDIT_PER_PAGE < total,
        total=total,
    )


def _errors(error: SettingsError) -> dict[str, str]:
    return {item.field: item.message for item in error.errors}
