"""Start every target, check it, then load each one in alternating rounds."""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import checks, cpu, environment, report
from bench.load import run_wrk
from bench.measure import RoundOptions, load_spec, measure_rounds
from bench.profile import profile_targets
from bench.relay import start_relay
from bench.scale import ScaleOptions, run_scale
from bench.scenarios import Scenario
from bench.targets import (
    RunContext,
    Target,
    TargetStarter,
    direct_target,
    start_downstream,
    start_floor_granian,
    start_floor_httpx,
    start_floor_proxy,
    start_nginx_proxy,
)

# Target starters in their default order. Each needs only the downstream, so
# any subset can run.
TARGET_STARTERS: dict[str, TargetStarter] = {
    "direct": direct_target,
    "nginx": start_nginx_proxy,
    "floor": start_floor_proxy,
    "relay": start_relay,
    # Not run by default: the server and client comparison behind the choice
    # of uvicorn and aiohttp (`--targets floor,floor-granian,floor-httpx`).
    "floor-granian": start_floor_granian,
    "floor-httpx": start_floor_httpx,
}
DEFAULT_TARGETS = ("direct", "nginx", "floor", "relay")


# Relay settings whose values are left out of the results.
SECRET_NAME = re.compile("SECRET|KEY|TOKEN|PASSWORD", re.IGNORECASE)
# Cores' worth of CPU used by other processes above which a run warns.
BACKGROUND_WARNING_CORES = report.DISTURBED_OTHER_CORES


class TargetCheckError(RuntimeError):
    """A target returned a wrong response to the check before the load."""


@dataclass(frozen=True)
class SuiteOptions:
    """Everything that decides what a benchmark run measures."""

    target_names: Sequence[str]
    scenarios: Sequence[Scenario]
    rounds: int
    duration_s: int
    warmup_s: int
    # Seconds to wait for other processes to calm down before each run.
    quiet_wait_s: float = 10.0
    # Extra runs allowed when other processes disturbed a run.
    retries: int = 1
    database_url: str | None = None
    relay_workers: int = 1
    relay_settings: Mapping[str, str] = field(default_factory=dict)
    nice: int = 0
    keep_workdir: bool = False
    # Scenarios to sample with py-spy on each Python target after the rounds.
    profile_scenarios: Sequence[Scenario] = ()
    profile_dir: Path = Path("bench/results")
    # Scale scenarios to run after the wrk rounds, and their sizes.
    scale_names: Sequence[str] = ()
    scale: ScaleOptions = field(default_factory=ScaleOptions)

    @property
    def round_options(self) -> RoundOptions:
        return RoundOptions(
            rounds=self.rounds,
            duration_s=self.duration_s,
            quiet_wait_s=self.quiet_wait_s,
            retries=self.retries,
        )


def run_suite(options: SuiteOptions, command: str) -> dict[str, Any]:
    """Run the whole benchmark and return its results as a JSON-ready dict."""
    environment.ensure_tools()
    started_at = _now()
    workdir = Path(tempfile.mkdtemp(prefix="scimrelay-bench-"))
    print(f"Working directory (configs and server logs): {workdir}", flush=True)
    succeeded = False
    background_cores = _background_load()
    try:
        with ExitStack() as stack:
            context, targets = _start_targets(stack, workdir, options)
            _check_targets(targets, options.scenarios)
            _warm_up(targets, options, workdir)
            runs = measure_rounds(
                context, targets, options.scenarios, options.round_options
            )
            profiles = profile_targets(
                context,
                targets,
                options.profile_scenarios,
                options.duration_s,
                options.profile_dir,
            )
            scale = run_scale(context, options.scale_names, options.scale)
        succeeded = True
    finally:
        if succeeded and not options.keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        elif not succeeded:
            print(f"Server logs kept in {workdir / 'logs'}", flush=True)
    return {
        "format": 1,
        "started_at": started_at,
        "finished_at": _now(),
        "command": command,
        "options": _options_dict(options),
        "background_cores_before": background_cores,
        "machine": environment.machine_info(),
        "software": environment.software_versions(options.database_url),
        "targets": [_target_dict(target) for target in targets],
        "scenarios": [_scenario_dict(scenario) for scenario in options.scenarios],
        "runs": runs,
        "profiles": profiles,
        "scale": scale,
    }


def _background_load() -> float:
    """Measure the CPU already in use before any server starts, and warn."""
    before = cpu.take_snapshot({})
    time.sleep(1.0)
    used = cpu.cores_used(before, cpu.take_snapshot({}))
    busy = used.get("other", 0.0)
    if busy > BACKGROUND_WARNING_CORES:
        print(
            f"WARNING: other processes use {busy:.2f} cores before the run; "
            "the results will be noisy",
            flush=True,
        )
    return busy


def _start_targets(
    stack: ExitStack, workdir: Path, options: SuiteOptions
) -> tuple[RunContext, list[Target]]:
    log_dir = workdir / "logs"
    log_dir.mkdir(parents=True)
    context = RunContext(
        stack=stack,
        workdir=workdir,
        log_dir=log_dir,
        database_url=options.database_url,
        relay_workers=options.relay_workers,
        relay_settings=dict(options.relay_settings),
    )
    start_downstream(context)
    targets: list[Target] = []
    if not options.scenarios:
        return context, targets
    for name in options.target_names:
        print(f"Starting {name}", flush=True)
        targets.append(TARGET_STARTERS[name](context))
    return context, targets


def _check_targets(targets: Sequence[Target], scenarios: Sequence[Scenario]) -> None:
    problems = [
        problem
        for target in targets
        for scenario in scenarios
        for problem in checks.check_target(target, scenario)
    ]
    if problems:
        raise TargetCheckError("\n".join(["Target checks failed:", *problems]))


def _warm_up(targets: Sequence[Target], options: SuiteOptions, workdir: Path) -> None:
    if options.warmup_s <= 0 or not targets or not options.scenarios:
        return
    print(f"Warming up each target for {options.warmup_s} s per scenario", flush=True)
    for scenario in options.scenarios:
        for target in targets:
            run_wrk(load_spec(target, scenario, options.warmup_s), workdir / "wrk")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _options_dict(options: SuiteOptions) -> dict[str, Any]:
    return {
        "targets": list(options.target_names),
        "scenarios": [scenario.key for scenario in options.scenarios],
        "rounds": options.rounds,
        "duration_s": options.duration_s,
        "warmup_s": options.warmup_s,
        "quiet_wait_s": options.quiet_wait_s,
        "nice": options.nice,
        "retries": options.retries,
        "database": "postgresql" if options.database_url else "sqlite",
        "relay_workers": options.relay_workers,
        "scale_scenarios": list(options.scale_names),
        "scale": asdict(options.scale),
        "relay_settings": {
            name: "[hidden]" if SECRET_NAME.search(name) else value
            for name, value in options.relay_settings.items()
        },
    }


def _target_dict(target: Target) -> dict[str, Any]:
    return {"name": target.name, "label": target.label, "url": target.scim_base_url}


def _scenario_dict(scenario: Scenario) -> dict[str, Any]:
    return {
        "key": scenario.key,
        "label": scenario.label,
        "title": scenario.title,
        "method": scenario.method,
        "concurrency": scenario.concurrency,
        "wrk_threads": scenario.threads,
    }
