"""`scimrelay serve --workers N`: throughput, CPU per worker, request log.

A relay with one worker and one with two, each with its own store, take
turns under GET /Users/{id} at c=32. The CPU time of every process of each
relay shows whether all workers served. Afterwards each store must contain
one request log record per request. That is at least as many records as wrk
completed requests, and at most as many as it sent, because the relay still
serves and logs the requests in flight when wrk stops, which wrk does not
count.
"""

from __future__ import annotations

import statistics
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench import fixtures
from bench.load import LoadSpec
from bench.measure import measured_load, wait_for_quiet
from bench.memory import parent_pid, process_cpu_seconds, session_pids
from bench.process import open_url
from bench.relay import RelayProcess, launch_relay
from bench.scenarios import SCIM_CONTENT_TYPE
from bench.targets import RunContext

WORKER_COUNTS = (1, 2)
CONNECTIONS = 32
# Seconds to wait for the request log to reach the store after the load.
LOG_WAIT_S = 120.0
LOG_POLL_S = 0.5
# A worker is busy when it used at least this share of an even split.
BUSY_SHARE = 0.5
WORKERS_READY_S = 60.0


def run(
    context: RunContext,
    rounds: int,
    duration_s: int,
    warmup_s: int,
    quiet_wait_s: float,
) -> dict[str, Any]:
    """Measure relays with 1 and 2 workers in alternating rounds."""
    relays = {
        count: launch_relay(context, f"relay-workers{count}", count)
        for count in WORKER_COUNTS
    }
    for count, relay in relays.items():
        _wait_for_workers(relay, count)
        _check(relay)
        if warmup_s > 0:
            measured_load(context, _spec(relay, warmup_s), None)
    before = {count: _settled_count(relay, 0) for count, relay in relays.items()}
    runs = []
    for round_index in range(rounds):
        order = WORKER_COUNTS if round_index % 2 == 0 else WORKER_COUNTS[::-1]
        for count in order:
            wait_for_quiet(quiet_wait_s)
            run = _measured(context, relays[count], count, duration_s)
            _print(round_index + 1, rounds, run)
            runs.append(run)
    logs = {}
    for count, relay in relays.items():
        mine = [run for run in runs if run["workers"] == count]
        answered = sum(run["requests"] for run in mine)
        sent = sum(run["sent"] for run in mine)
        stored = _settled_count(relay, before[count] + answered) - before[count]
        logs[str(count)] = {"answered": answered, "sent": sent, "records": stored}
    return {"connections": CONNECTIONS, "runs": runs, "request_log": logs}


def _measured(
    context: RunContext, relay: RelayProcess, count: int, duration_s: int
) -> dict[str, Any]:
    assert relay.target.pid is not None
    pids = session_pids(relay.target.pid)
    started = time.monotonic()
    before = {pid: process_cpu_seconds(pid) for pid in pids}
    load = measured_load(context, _spec(relay, duration_s), relay.target.pid)
    elapsed = time.monotonic() - started
    processes = [
        {
            "pid": pid,
            "role": _role(pid, relay.target.pid, count),
            "cores": round((process_cpu_seconds(pid) - before[pid]) / elapsed, 3),
        }
        for pid in pids
    ]
    return {"workers": count, "processes": processes, **load}


def _role(pid: int, main_pid: int, count: int) -> str:
    """Tell the worker processes from uvicorn's supervisor and helpers."""
    if count == 1:
        return "worker" if pid == main_pid else "helper"
    if pid == main_pid:
        return "supervisor"
    command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    if parent_pid(pid) == main_pid and b"resource_tracker" not in command:
        return "worker"
    return "helper"


def _wait_for_workers(relay: RelayProcess, count: int) -> None:
    """Wait until the relay's session has `count` worker processes."""
    assert relay.target.pid is not None
    deadline = time.monotonic() + WORKERS_READY_S
    while time.monotonic() < deadline:
        pids = session_pids(relay.target.pid)
        roles = [_role(pid, relay.target.pid, count) for pid in pids]
        if roles.count("worker") >= count:
            time.sleep(1.0)
            return
        time.sleep(0.2)
    raise RuntimeError(f"{relay.target.name}: {count} workers did not start")


def _spec(relay: RelayProcess, duration_s: int) -> LoadSpec:
    return LoadSpec(
        url=relay.target.scim_base_url + f"/Users/{fixtures.USER_ID}",
        method="GET",
        headers={"Accept": SCIM_CONTENT_TYPE, **relay.target.headers},
        body=None,
        connections=CONNECTIONS,
        threads=1,
        duration_s=duration_s,
        max_requests_per_thread=duration_s * 500_000,
    )


def _check(relay: RelayProcess) -> None:
    url = relay.target.scim_base_url + f"/Users/{fixtures.USER_ID}"
    request = urllib.request.Request(url, headers=relay.target.headers)
    status, _headers, body = open_url(request)
    if status != 200:
        raise RuntimeError(f"GET {url} returned status {status}: {body[:300]!r}")


def _settled_count(relay: RelayProcess, at_least: int) -> int:
    """Count the integration's log records once the count stops changing."""
    deadline = time.monotonic() + LOG_WAIT_S
    last, stable_since = -1, time.monotonic()
    while True:
        count = log_records(relay)
        now = time.monotonic()
        if count != last:
            last, stable_since = count, now
        settled = count >= at_least and now - stable_since >= 2.0
        if settled or now >= deadline:
            return count
        time.sleep(LOG_POLL_S)


def log_records(relay: RelayProcess) -> int:
    """Count the request log records of the relay's integration in its store."""
    from sqlalchemy import func, select

    from scimrelay.settings import Settings
    from scimrelay.store.database import Store
    from scimrelay.store.models import RequestLogEntry

    store = Store.open(Settings.from_env(relay.environment))
    try:
        with store.session() as session:
            query = (
                select(func.count())
                .select_from(RequestLogEntry)
                .where(RequestLogEntry.integration_id == relay.integration_id)
            )
            return int(session.scalar(query) or 0)
    finally:
        store.dispose()


def _print(round_number: int, rounds: int, run: dict[str, Any]) -> None:
    workers = " ".join(
        f"{process['cores']:.2f}"
        for process in run["processes"]
        if process["role"] == "worker"
    )
    errors = f"  ERRORS {run['errors']}" if run["error_count"] else ""
    print(
        f"round {round_number}/{rounds}  workers={run['workers']}"
        f" {run['throughput_rps']:>8,.0f} req/s  worker cores {workers}"
        f"  other cores {run['cpu_cores'].get('other', 0.0):.2f}{errors}",
        flush=True,
    )


def worker_cores(runs: list[dict[str, Any]]) -> list[float]:
    """Return each worker's median cores over `runs`, in pid order."""
    per_pid: dict[int, list[float]] = {}
    for run in runs:
        for process in run["processes"]:
            if process["role"] == "worker":
                per_pid.setdefault(process["pid"], []).append(process["cores"])
    return [statistics.median(values) for _pid, values in sorted(per_pid.items())]


def all_busy(cores: list[float], count: int) -> bool:
    """Tell whether each of `count` workers did at least BUSY_SHARE of its share."""
    if len(cores) != count or not sum(cores):
        return False
    even = sum(cores) / count
    return all(value >= BUSY_SHARE * even for value in cores)


def describe(result: dict[str, Any]) -> tuple[str, bool, list[tuple[str, str]]]:
    """Return the headline figure, whether all checks passed, and detail rows."""
    details = []
    throughput = {}
    met = True
    for count in WORKER_COUNTS:
        runs = [run for run in result["runs"] if run["workers"] == count]
        throughput[count] = statistics.median(run["throughput_rps"] for run in runs)
        cores = worker_cores(runs)
        busy = all_busy(cores, count)
        log = result["request_log"][str(count)]
        complete = log["answered"] <= log["records"] <= log["sent"]
        errors = sum(run["error_count"] for run in runs)
        met = met and busy and complete and not errors
        details += [
            (
                f"N={count}: GET c={result['connections']}",
                f"{throughput[count]:,.0f} req/s (median of {len(runs)}), "
                f"{errors} errors",
            ),
            (
                f"N={count}: cores per worker",
                f"{', '.join(f'{value:.2f}' for value in cores)}"
                f" ({'every worker busy' if busy else 'not every worker busy'})",
            ),
            (
                f"N={count}: request log",
                f"{log['records']:,} records for {log['answered']:,} requests "
                f"answered to wrk ({log['sent']:,} sent): "
                f"{'complete' if complete else 'records missing'}",
            ),
        ]
    ratio = throughput[2] / throughput[1] if throughput[1] else 0.0
    return f"N=2 gives {ratio:.2f}x the throughput of N=1", met, details


def other_cores(result: dict[str, Any]) -> float:
    return float(
        statistics.median(run["cpu_cores"].get("other", 0.0) for run in result["runs"])
    )
