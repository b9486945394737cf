"""An integration's Google Workspace source: the form, preview, runs."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import structlog
from starlette.responses import Response

from scimrelay.console.framework import Call
from scimrelay.console.source_form import KEY_FIELD, SourceForm
from scimrelay.errors import SettingsError, SyncBusy, SyncError
from scimrelay.integrations.service import IntegrationView
from scimrelay.sync.engine import LOG_SOURCE
from scimrelay.sync.plan import Plan
from scimrelay.sync.runs import RUNNING, RunReport

logger = structlog.get_logger(__name__)

RUNS_SHOWN = 20
# A margin after a run's end, so that the request log link keeps the entries
# stamped as the run finished.
LOG_WINDOW_SLACK = timedelta(seconds=2)
# Seconds between reloads of a run's page while the run goes on.
REFRESH_SECONDS = 2


def source_page(call: Call) -> Response:
    view = _integration(call)
    form = SourceForm.from_view(call.ops.sources.google(view.id))
    return _render(call, view, form, notices=call.pop_flash().get("notices", []))


def source_save(call: Call) -> Response:
    view = _integration(call)
    form = SourceForm.from_call(call)
    try:
        call.ops.sources.set_google(view.id, form.input(call), KEY_FIELD)
    except SettingsError as error:
        form.show_errors(error)
        return _render(call, view, form, status=422)
    return _back(call, view, "Google Workspace source saved.")


def source_remove(call: Call) -> Response:
    view = _integration(call)
    call.ops.sources.remove_google(view.id)
    return _back(call, view, "Google Workspace source removed.")


def source_preview(call: Call) -> Response:
    view = _integration(call)
    form = SourceForm.from_view(call.ops.sources.google(view.id))
    try:
        plan = call.ops.sources.preview(view.id)
    except SyncError as error:
        logger.warning("sync preview failed", integration_id=view.id, error=str(error))
        return _render(call, view, form, problem=str(error), status=502)
    return _render(call, view, form, plan=plan)


def sync_start(call: Call) -> Response:
    view = _integration(call)
    try:
        report = call.ops.sources.start_run(view.id, "console")
    except SyncError as error:
        logger.warning("sync not started", integration_id=view.id, error=str(error))
        form = SourceForm.from_view(call.ops.sources.google(view.id))
        status = 409 if isinstance(error, SyncBusy) else 502
        return _render(call, view, form, problem=str(error), status=status)
    return call.redirect_with(
        f"/integrations/{view.id}/google/runs/{report.id}",
        notices=["Sync started. This page shows its counts as it goes."],
    )


def run_detail(call: Call) -> Response:
    view = _integration(call)
    report = call.ops.sources.run(view.id, call.request.path_params["run_id"])
    return call.render(
        "sync_run.html",
        integration=view,
        tenant=call.ops.tenant(view.tenant_id),
        run=report,
        counts=report.to_dict(),
        requests_url=_requests_url(view, report),
        refresh=REFRESH_SECONDS if report.status == RUNNING else None,
        notices=call.pop_flash().get("notices", []),
    )


def _integration(call: Call) -> IntegrationView:
    return call.ops.integration(call.request.path_params["integration_id"])


def _render(
    call: Call,
    view: IntegrationView,
    form: SourceForm,
    *,
    plan: Plan | None = None,
    problem: str | None = None,
    notices: list[str] | None = None,
    status: int = 200,
) -> Response:
    return call.render(
        "google_source.html",
        status,
        integration=view,
        tenant=call.ops.tenant(view.tenant_id),
        source=call.ops.sources.google(view.id),
        form=form,
        plan=plan,
        problem=problem,
        notices=notices or [],
        runs=call.ops.sources.runs(view.id, RUNS_SHOWN),
    )


def _back(call: Call, view: IntegrationView, notice: str) -> Response:
    return call.redirect_with(f"/integrations/{view.id}/google", notices=[notice])


def _requests_url(view: IntegrationView, report: RunReport) -> str:
    """Link the request log's entries sent by the sync while the run went on.

    NOTE: entries are chosen by sender and time, not by run, so a preview
    made during the run shows up among its requests.
    """
    query = {
        "integration": view.id,
        "source": LOG_SOURCE,
        "since": report.started_at.isoformat(),
    }
    if report.finished_at is not None:
        query["until"] = (report.finished_at + LOG_WINDOW_SLACK).isoformat()
    return "/admin/logs?" + urlencode(query)
