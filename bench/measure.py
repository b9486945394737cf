"""The measurement rounds: wrk runs with CPU accounting, retried when disturbed.

Other processes on the machine take CPU from the servers and from wrk, which
lowers throughput and raises latency. Before each run the harness waits a
bounded time for the machine to be quiet, and it repeats a run once other
processes used more than `report.DISTURBED_OTHER_CORES` cores during it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench import cpu, report
from bench.load import LoadSpec, run_wrk
from bench.scenarios import Scenario
from bench.targets import RunContext, Target

# Length of the window in which the machine's idle state is sampled.
QUIET_SAMPLE_S = 0.5
# Pause between runs, so connections from one run close before the next.
PAUSE_BETWEEN_RUNS_S = 0.2


@dataclass(frozen=True)
class RoundOptions:
    """How many rounds, how long each run, and how to handle disturbed runs."""

    rounds: int
    duration_s: int
    quiet_wait_s: float
    retries: int


def measure_rounds(
    context: RunContext,
    targets: Sequence[Target],
    scenarios: Sequence[Scenario],
    options: RoundOptions,
) -> list[dict[str, Any]]:
    """Run every scenario on every target once per round.

    Each round starts with the next target in turn, so no target always runs
    right after the same neighbour or always first.
    """
    runs: list[dict[str, Any]] = []
    if not targets or not scenarios:
        return runs
    for round_index in range(options.rounds):
        shift = round_index % len(targets)
        order = [*targets[shift:], *targets[:shift]]
        for scenario in scenarios:
            for target in order:
                run = _least_disturbed_run(context, target, scenario, options)
                _print_run(round_index + 1, options.rounds, run)
                runs.append({"round": round_index + 1, **run})
                time.sleep(PAUSE_BETWEEN_RUNS_S)
    return runs


def _least_disturbed_run(
    context: RunContext, target: Target, scenario: Scenario, options: RoundOptions
) -> dict[str, Any]:
    best: dict[str, Any] | None = None
    for attempt in range(1, options.retries + 2):
        wait_for_quiet(options.quiet_wait_s)
        run = measured_run(context, target, scenario, options.duration_s)
        run["attempt"] = attempt
        if best is None or _other_cores(run) < _other_cores(best):
            best = run
        if _other_cores(run) <= report.DISTURBED_OTHER_CORES:
            break
        print(
            f"  {scenario.key} {target.name}: other processes used "
            f"{_other_cores(run):.2f} cores, run {attempt} of at most "
            f"{options.retries + 1}",
            flush=True,
        )
    assert best is not None
    return best


def _other_cores(run: dict[str, Any]) -> float:
    return float(run["cpu_cores"].get("other", 0.0))


def wait_for_quiet(max_wait_s: float) -> float:
    """Wait until other processes use few cores, or `max_wait_s` has passed.

    Returns the cores used by the last sample window.
    """
    deadline = time.monotonic() + max_wait_s
    while True:
        before = cpu.take_snapshot({})
        time.sleep(QUIET_SAMPLE_S)
        busy = cpu.cores_used(before, cpu.take_snapshot({})).get("other", 0.0)
        if busy <= report.DISTURBED_OTHER_CORES or time.monotonic() >= deadline:
            return busy


def measured_run(
    context: RunContext, target: Target, scenario: Scenario, duration_s: int
) -> dict[str, Any]:
    """Run wrk once and record the CPU that the target, downstream and wrk used."""
    spec = load_spec(target, scenario, duration_s)
    return {
        "target": target.name,
        "scenario": scenario.key,
        **measured_load(context, spec, target.pid),
    }


def measured_load(
    context: RunContext, spec: LoadSpec, target_pid: int | None
) -> dict[str, Any]:
    """Run wrk with `spec` and record the CPU of the target, downstream and wrk."""
    sessions = {"downstream": context.downstream_pid}
    if target_pid is not None and target_pid != context.downstream_pid:
        sessions["target"] = target_pid
    before = cpu.take_snapshot(sessions)
    result = run_wrk(spec, context.workdir / "wrk")
    cores = cpu.cores_used(before, cpu.take_snapshot(sessions))
    return {
        "capped": result.requests >= spec.max_requests_per_thread * spec.threads,
        "cpu_cores": cores,
        **result.to_dict(),
    }


def load_spec(target: Target, scenario: Scenario, duration_s: int) -> LoadSpec:
    """Describe one wrk run of `scenario` against `target`."""
    return LoadSpec(
        url=target.scim_base_url + scenario.resource_path,
        method=scenario.method,
        headers={**scenario.headers, **target.headers},
        body=scenario.body,
        connections=scenario.concurrency,
        threads=scenario.threads,
        duration_s=duration_s,
        # Cap far above what one wrk thread reached against nginx on loopback
        # (about 120,000 requests/s on a 2-core AMD EPYC), so it only bounds
        # runaway runs.
        max_requests_per_thread=duration_s * 500_000,
    )


def _print_run(round_number: int, rounds: int, run: dict[str, Any]) -> None:
    errors = f"  ERRORS {run['errors']}" if run["error_count"] else ""
    cores = " ".join(f"{name} {value:.2f}" for name, value in run["cpu_cores"].items())
    print(
        f"round {round_number}/{rounds}  {run['scenario']:<10} {run['target']:<7}"
        f" {run['throughput_rps']:>10,.0f} req/s"
        f"  p50 {run['latency_ms']['p50']:7.3f} ms"
        f"  p99 {run['latency_ms']['p99']:7.3f} ms"
        f"  cores: {cores}{errors}",
        flush=True,
    )
