"""Prometheus metrics, and the hooks that the relay's parts call to update them.

``scimrelay serve --workers N`` runs N processes, each with its own counters.
With more than one worker, ``serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at an
empty folder before the workers start (see
:func:`prepare_multiprocess_metrics`). prometheus-client then writes each
process's values to files there, and ``/metrics`` adds up the files of every
worker, whichever worker serves the scrape. prometheus-client reads the
variable when it is first imported, so it is set in the parent process and
inherited by the freshly spawned workers.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import shutil
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Literal

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from scimrelay.requestlog.recorder import PendingEntry, RequestRecorder
from scimrelay.settings import Secret

Endpoint = Callable[[Request], Awaitable[Response]]
TOKEN_REQUIRED = (
    "missing or invalid bearer token: send the token set in SCIMRELAY_METRICS_TOKEN\n"
)

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
METRICS_FOLDER = "metrics"
UNAUTHENTICATED = "none"
RESOURCE_TYPES = {
    name.lower(): name
    for name in (
        "Users",
        "Groups",
        "Bulk",
        ".search",
        "Me",
        "ServiceProviderConfig",
        "Schemas",
        "ResourceTypes",
    )
}
BreakerState = Literal["closed", "half_open", "open"]
BREAKER_STATE_VALUES: dict[BreakerState, int] = {"closed": 0, "half_open": 1, "open": 2}

REQUESTS = Counter(
    "scimrelay_requests",
    "SCIM requests answered, by integration, method, resource type and status.",
    ["integration", "method", "resource_type", "status"],
)
DOWNSTREAM_DURATION = Histogram(
    "scimrelay_downstream_duration_seconds",
    "Time from sending a relayed request downstream to its full answer.",
    ["integration", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
RETRIES = Counter(
    "scimrelay_downstream_retries",
    "Downstream requests sent again after a failed attempt.",
    ["integration"],
)
RATE_LIMITED = Counter(
    "scimrelay_rate_limited",
    "Requests answered 429 because an integration's rate limit was reached.",
    ["integration", "window"],
)
BREAKER_STATE = Gauge(
    "scimrelay_circuit_breaker_state",
    "Circuit breaker state per integration: 0 closed, 1 half-open, 2 open.",
    ["integration"],
    multiprocess_mode="livemax",
)
BREAKER_CHANGES = Counter(
    "scimrelay_circuit_breaker_changes",
    "Circuit breaker state changes made by this relay, by integration and new state.",
    ["integration", "state"],
)
PER_INTEGRATION = (
    REQUESTS,
    DOWNSTREAM_DURATION,
    RETRIES,
    RATE_LIMITED,
    BREAKER_STATE,
    BREAKER_CHANGES,
)
# Integrations deleted while this process ran, whose series ``render`` leaves out.
FORGOTTEN: set[str] = set()
LOG_QUEUE_DEPTH = Gauge(
    "scimrelay_request_log_queue_depth",
    "Request log entries waiting to be written to the store.",
    multiprocess_mode="livesum",
)
LOG_LAG = Gauge(
    "scimrelay_request_log_lag_seconds",
    "Age of the oldest request log entry not yet written to the store.",
    multiprocess_mode="livemax",
)
CONFIG_VERSION = Gauge(
    "scimrelay_config_version",
    "Configuration version loaded; the lowest across worker processes.",
    multiprocess_mode="livemin",
)


def count_retry(integration_id: str, retries: int = 1) -> None:
    """Count downstream requests sent again after a failed attempt."""
    if retries > 0:
        RETRIES.labels(integration_id).inc(retries)


def count_rate_limited(integration_id: str, window: str) -> None:
    """Count one request rejected by the ``per_second`` or ``per_day`` budget."""
    RATE_LIMITED.labels(integration_id, window).inc()


def set_breaker_state(integration_id: str, state: BreakerState) -> None:
    """Publish the circuit breaker state of an integration."""
    BREAKER_STATE.labels(integration_id).set(BREAKER_STATE_VALUES[state])


def count_breaker_change(integration_id: str, state: BreakerState) -> None:
    """Count a breaker state change made here, and publish the new state at once.

    The sampler reads breaker states only every few seconds, so a breaker that
    opens and closes in between shows only in this counter.
    """
    BREAKER_CHANGES.labels(integration_id, state).inc()
    set_breaker_state(integration_id, state)


def forget_integration(integration_id: str) -> None:
    """Drop the series of a deleted integration from ``/metrics``.

    With one process the series are removed. prometheus-client cannot remove
    series from the files that worker processes share, so ``render`` also
    leaves out every integration forgotten here.
    """
    FORGOTTEN.add(integration_id)
    if os.environ.get(MULTIPROC_VARIABLE):
        return
    for metric in PER_INTEGRATION:
        metric.remove_by_labels({"integration": integration_id})


def resource_type(path: str) -> str:
    """Return the SCIM resource type a relay path addresses, or "other"."""
    segments = [segment for segment in path.split("/") if segment]
    # The segments are "scim", "v2", the integration id, then the resource.
    if len(segments) < 4:
        return "root"

    return RESOURCE_TYPES.get(segments[3].lower(), "other")


def observe_request(entry: PendingEntry) -> None:
    """Count an answered request and its downstream duration."""
    integration = entry.integration_id or UNAUTHENTICATED
    REQUESTS.labels(
        integration, entry.method, resource_type(entry.path), str(entry.status)
    ).inc()
    if entry.downstream_ms is not None:
        DOWNSTREAM_DURATION.labels(integration, entry.method).observe(
            entry.downstream_ms / 1000
        )


def sample_request_log(recorder: RequestRecorder) -> None:
    LOG_QUEUE_DEPTH.set(recorder.queue_depth)
    LOG_LAG.set(recorder.lag_seconds)


def sample_config_version(version: int) -> None:
    CONFIG_VERSION.set(version)


class MeteredRecorder(RequestRecorder):
    """A request recorder that also counts each entry in the request metrics.

    Counting the very entries that the request log stores keeps the two
    consistent: every answered request is in both, once.
    """

    def record(self, entry: PendingEntry) -> None:
        observe_request(entry)
        super().record(entry)


class WithoutForgotten:
    """Another collector's metrics without the series of forgotten integrations."""

    def __init__(self, inner: Collector, forgotten: frozenset[str]) -> None:
        self._inner = inner
        self._forgotten = forgotten

    def collect(self) -> Iterable[Metric]:
        for family in self._inner.collect():
            family.samples = [
                sample
                for sample in family.samples
                if sample.labels.get("integration") not in self._forgotten
            ]
            yield family


def render() -> bytes:
    """Return every metric in the Prometheus text format."""
    registry: Collector = REGISTRY
    folder = os.environ.get(MULTIPROC_VARIABLE)
    if folder:
        forget_dead_processes(Path(folder))
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    if FORGOTTEN:
        registry = WithoutForgotten(registry, frozenset(FORGOTTEN))

    return generate_latest(registry)


def forget_dead_processes(folder: Path) -> None:
    """Drop the live gauges of worker processes that ended without cleaning up.

    uvicorn restarts a worker that stops answering its health pings without
    letting it shut down, and prometheus-client only leaves a process out of
    the ``live*`` gauges once ``mark_process_dead`` has run for it.
    """
    pids = {path.stem.rsplit("_", 1)[-1] for path in folder.glob("gauge_live*.db")}
    for pid in pids:
        if pid.isdigit() and not _is_running(int(pid)):
            multiprocess.mark_process_dead(int(pid), str(folder))  # type: ignore[no-untyped-call]


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def metrics_endpoint(token: Secret | None) -> Endpoint:
    """Return the ``/metrics`` endpoint, which requires ``token`` when one is set."""
    expected = token.reveal().encode() if token else None

    async def serve(request: Request) -> Response:
        if expected is not None and not hmac.compare_digest(
            _bearer_token(request), expected
        ):
            return Response(
                TOKEN_REQUIRED,
                401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                media_type="text/plain",
            )
        # Reading the worker files happens off the event loop.
        body = await asyncio.to_thread(render)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return serve


def _bearer_token(request: Request) -> bytes:
    """Return the bearer token of the request, or nothing for another scheme.

    The scheme is case-insensitive (RFC 7235 §2.1).
    """
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return b""

    return presented.encode()


def mark_process_stopped() -> None:
    """Drop this process's live gauges from the multi-process figures."""
    if os.environ.get(MULTIPROC_VARIABLE):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def prepare_multiprocess_metrics(workers: int, data_dir: Path) -> Path | None:
    """Set up the metrics folder that worker processes share, if there are several.

    An operator's own ``PROMETHEUS_MULTIPROC_DIR`` is emptied of old values
    and kept. Otherwise, for two workers or more, the folder is
    ``<data dir>/metrics/serve-<pid>``, exported to the workers' environment.
    uvicorn ends ``serve`` by raising the caught SIGTERM again, so exit
    handlers do not run: the folders of ``serve`` processes that have ended
    are removed here instead, at the next start.
    """
    configured = os.environ.get(MULTIPROC_VARIABLE)
    if configured:
        return _emptied(Path(configured))
    if workers < 2:
        return None

    root = data_dir / METRICS_FOLDER
    for previous in root.glob("serve-*"):
        pid = previous.name.removeprefix("serve-")
        if pid.isdigit() and not _is_running(int(pid)):
            shutil.rmtree(previous, ignore_errors=True)
    folder = _emptied(root / f"serve-{os.getpid()}")
    os.environ[MULTIPROC_VARIABLE] = str(folder)
    return folder


def _emptied(folder: Path) -> Path:
    """Create ``folder`` if needed and delete the metric files left in it."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    return folder
