"""Integration pages: the list, the form, the detail page and its actions."""

from __future__ import annotations

import anyio.from_thread
from starlette.responses import Response

from scimrelay.adapt.profiles import PROFILES
from scimrelay.console.charts import activity_svg
from scimrelay.console.form import IntegrationForm
from scimrelay.console.framework import Call, redirect
from scimrelay.errors import SettingsError
from scimrelay.integrations.service import IntegrationView
from scimrelay.requestlog.query import LogFilter

CHART_RANGES = {"24h": 24, "7d": 168}
CREATED_NOTICE = (
    "Integration created. Give the identity provider the SCIM base URL and the "
    "SCIM API key shown below."
)
SETUP_GUIDES = ("okta", "entra", "onelogin", "jumpcloud")


def integration_list(call: Call) -> Response:
    views = call.ops.integrations()
    tenants = {tenant.id: tenant.name for tenant in call.ops.tenants()}
    return call.render(
        "integrations.html",
        integrations=views,
        tenants=tenants,
        stats=call.ops.stats(views),
    )


def new_form(call: Call) -> Response:
    form = IntegrationForm(tenant_id=call.param("tenant"))
    return _render_form(call, form, None)


def create(call: Call) -> Response:
    form = IntegrationForm.from_call(call)
    tenant_id = form.tenant_id or (call.actor.tenant_id or "")
    try:
        if not tenant_id:
            raise SettingsError.single("tenant_id", "is required: choose a tenant")
        created = call.ops.create_integration(tenant_id, form.input(call, None))
    except SettingsError as error:
        form.show_errors(error)
        return _render_form(call, form, None, 422)
    view = created.integration
    return call.redirect_with(
        f"/integrations/{view.id}",
        integration=view.id,
        key=created.key.plaintext,
        notices=[CREATED_NOTICE, *created.notices],
    )


def detail(call: Call) -> Response:
    view = call.ops.integration(call.request.path_params["integration_id"])
    flash = call.pop_flash()
    if flash.get("integration") != view.id:
        flash = {}
    return _detail(call, view, flash.get("key"), flash.get("notices", []))


def edit_form(call: Call) -> Response:
    view = call.ops.integration(call.request.path_params["integration_id"])
    form = IntegrationForm.from_view(view, call.ops.form_headers(view.id))
    return _render_form(call, form, view)


def update(call: Call) -> Response:
    integration_id = call.request.path_params["integration_id"]
    view = call.ops.integration(integration_id)
    form = IntegrationForm.from_call(call)
    form.tenant_id = view.tenant_id
    try:
        updated, notices = call.ops.update_integration(
            integration_id, form.input(call, integration_id)
        )
    except SettingsError as error:
        form.show_errors(error)
        return _render_form(call, form, view, 422)
    return _notify(call, updated.id, ["Settings saved.", *notices])


def delete(call: Call) -> Response:
    call.ops.delete_integration(call.request.path_params["integration_id"])
    return redirect("/integrations?deleted=1")


def test_saved(call: Call) -> Response:
    integration_id = call.request.path_params["integration_id"]
    report = anyio.from_thread.run(call.ops.test_integration, integration_id)
    return call.render("_test_result.html", report=report, notices=[], errors={})


def test_unsaved(call: Call) -> Response:
    form = IntegrationForm.from_call(call)
    integration_id = call.field("integration_id") or None
    token = call.field("token").strip() or None
    try:
        headers = call.ops.fill_headers(integration_id, form.header_rows())
        report, notices = anyio.from_thread.run(
            call.ops.test_settings,
            form.tenant_id or call.actor.tenant_id,
            integration_id,
            form.scim_url,
            token,
            headers,
        )
    except SettingsError as error:
        errors = {item.field: item.message for item in error.errors}
        return call.render(
            "_test_result.html", 422, report=None, notices=[], errors=errors
        )
    return call.render("_test_result.html", report=report, notices=notices, errors={})


def rotate_key(call: Call) -> Response:
    integration_id = call.request.path_params["integration_id"]
    revoke = call.field("revoke_previous") == "on"
    key = call.ops.rotate_key(integration_id, revoke)
    message = "A new SCIM API key was issued."
    if revoke:
        message += " Every earlier key was revoked."
    return call.redirect_with(
        f"/integrations/{integration_id}",
        integration=integration_id,
        key=key.plaintext,
        notices=[message],
    )


def revoke_key(call: Call) -> Response:
    params = call.request.path_params
    call.ops.revoke_key(params["integration_id"], params["key_id"])
    notice = f"API key {params['key_id']} was revoked."
    return _notify(call, params["integration_id"], [notice])


def _notify(call: Call, integration_id: str, notices: list[str]) -> Response:
    return call.redirect_with(
        f"/integrations/{integration_id}", integration=integration_id, notices=notices
    )


def activity_chart(call: Call) -> Response:
    integration_id = call.request.path_params["integration_id"]
    hours = CHART_RANGES.get(call.param("range"), 24)
    buckets = call.ops.activity(integration_id, hours)
    title = f"Requests per hour and p95 latency, last {hours} hours"
    return Response(
        activity_svg(buckets, title),
        media_type="image/svg+xml",
        headers={"Cache-Control": "no-store"},
    )


def _detail(
    call: Call,
    view: IntegrationView,
    key: str | None = None,
    notices: list[str] | None = None,
) -> Response:
    where = LogFilter(tenant_ids=call.actor.visible_tenants(), integration_id=view.id)
    recent = call.ops.log_page(where, 1, 8).entries
    chart_range = call.param("range") if call.param("range") in CHART_RANGES else "24h"
    last_runs = call.ops.sources.runs(view.id, 1)
    return call.render(
        "integration.html",
        integration=view,
        tenant=call.ops.tenant(view.tenant_id),
        new_key=key,
        notices=notices or [],
        scim_base_url=call.console.public_base(call.request) + view.scim_base_path,
        stats=call.ops.stats([view]).get(view.id),
        recent=recent,
        chart_range=chart_range,
        guides=SETUP_GUIDES,
        source=call.ops.sources.google(view.id),
        last_run=last_runs[0] if last_runs else None,
        profile_rules=PROFILES.get(view.profile, ()),
    )


def _render_form(
    call: Call, form: IntegrationForm, view: IntegrationView | None, status: int = 200
) -> Response:
    return call.render(
        "integration_form.html",
        status,
        form=form,
        integration=view,
        tenants=call.ops.tenants(),
    )
