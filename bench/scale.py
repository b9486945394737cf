"""The memory, scale, soak and workers scenarios, each on relays of its own.

Unlike the wrk scenarios, which load every target alike, each of these
starts one or more relays with a fresh SQLite store (whatever
--database-url sets) and measures one property against its goal.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench import fleet, large_patch, report, soak, user_import, workers
from bench.memory import MB
from bench.targets import RunContext

Verdict = tuple[str, bool | None, list[tuple[str, str]]]


@dataclass(frozen=True)
class ScaleOptions:
    """Sizes and durations of the scale scenarios."""

    patch_members: int = 50_000
    import_users: int = 100_000
    integrations: int = 10_000
    soak_minutes: float = 10.0
    rounds: int = 3
    duration_s: int = 5
    warmup_s: int = 2
    quiet_wait_s: float = 10.0


@dataclass(frozen=True)
class ScaleScenario:
    """A scale scenario: what it measures, its goal, and how to run and read it."""

    name: str
    title: str
    goal: str
    # Description of the measurement method, for the generated page.
    method: str
    run: Callable[[RunContext, ScaleOptions], dict[str, Any]]
    describe: Callable[[dict[str, Any]], Verdict]
    # Median cores used by other processes during its load, if it has load.
    other_cores: Callable[[dict[str, Any]], float] | None = None


SCALE_SCENARIOS = {
    scenario.name: scenario
    for scenario in (
        ScaleScenario(
            "members",
            "PATCH adding members to a group",
            f"relay peak RSS growth under {large_patch.MAX_GROWTH_RATIO:g}x the body",
            "A client sends one PATCH adding the members (a UUID each) to a "
            f"group, {large_patch.REPEATS} times after a "
            f"{large_patch.WARMUP_MEMBERS:,}-member warm-up, to a relay with the "
            "default settings. The peak is the kernel's high-water mark (VmHWM, "
            "reset before each request through /proc/PID/clear_refs), less VmRSS "
            "before the request. The downstream answers each group PATCH with "
            "204 and logs its size.",
            lambda context, options: large_patch.run(context, options.patch_members),
            large_patch.describe,
            large_patch.other_cores,
        ),
        ScaleScenario(
            "import",
            "Import of every user through the relay's paging",
            f"relay peak RSS growth under {user_import.MAX_GROWTH_MB:g} MB, "
            "each user received once",
            f"nginx serves the users from prepared pages of "
            f"{user_import.DOWNSTREAM_PAGE}, whatever `count` requests. A client "
            f"pages through the relay with `startIndex` and "
            f"`count={user_import.PROVIDER_COUNT}`, so the relay fills each page "
            "with a second downstream request, and counts every user id "
            "received. The peak RSS is read as in the PATCH scenario.",
            lambda context, options: user_import.run(context, options.import_users),
            user_import.describe,
            user_import.other_cores,
        ),
        ScaleScenario(
            "integrations",
            "GET c=32 spread over many integrations",
            "throughput within "
            f"{fleet.MAX_THROUGHPUT_LOSS:.0%} of one integration's, no errors",
            "The integrations are created through the service layer in one "
            "transaction before the relay starts. A first pass sends one GET "
            "to each. Then wrk runs GET c=32 for the round duration, choosing "
            "for each request an integration and its key at random (a Lua "
            "script), alternating with runs through one integration on the "
            "same relay.",
            lambda context, options: fleet.run(
                context,
                options.integrations,
                options.rounds,
                options.duration_s,
                options.warmup_s,
                options.quiet_wait_s,
            ),
            fleet.describe,
            fleet.other_cores,
        ),
        ScaleScenario(
            "soak",
            "Soak under steady load",
            "no RSS growth beyond noise after minute 2, no errors",
            f"wrk sends GET and POST at random at c={soak.CONNECTIONS}, and a "
            f"thread samples the relay's VmRSS every {soak.SAMPLE_INTERVAL_S:g} "
            "s. Growth is the median of the last minute less the median of the "
            "minute from minute 2 (from the middle in runs under 4 minutes). "
            "Noise is the spread within that minute, at least "
            f"{soak.MIN_NOISE_BYTES / MB:g} MB.",
            lambda context, options: soak.run(context, options.soak_minutes),
            soak.describe,
            lambda result: float(result["load"]["cpu_cores"].get("other", 0.0)),
        ),
        ScaleScenario(
            "workers",
            "`serve --workers N`, N=1 and N=2",
            "every worker busy, request log complete, no errors",
            "A relay with `--workers 1` and one with `--workers 2` take turns "
            "under wrk GET c=32. CPU time per process comes from "
            "/proc/PID/stat; a worker is busy when it used at least half of an "
            "even share of the workers' CPU. The request log is counted in "
            "each relay's store once the count stops changing, and is complete "
            "when it lies between the requests wrk completed and those it sent.",
            lambda context, options: workers.run(
                context,
                options.rounds,
                options.duration_s,
                options.warmup_s,
                options.quiet_wait_s,
            ),
            workers.describe,
            workers.other_cores,
        ),
    )
}


def run_scale(
    context: RunContext, names: Sequence[str], options: ScaleOptions
) -> dict[str, dict[str, Any]]:
    """Run the named scale scenarios in order and return their results by name."""
    results = {}
    for name in names:
        scenario = SCALE_SCENARIOS[name]
        print(f"Scale scenario {name}: {scenario.title}", flush=True)
        started = time.perf_counter()
        result = scenario.run(context, options)
        result["elapsed_s"] = round(time.perf_counter() - started, 1)
        measured, met, _details = scenario.describe(result)
        print(f"  {name}: {measured} ({_verdict(met)})", flush=True)
        results[name] = result
    return results


def _verdict(met: bool | None) -> str:
    if met is None:
        return "not measured"
    return "met" if met else "not met"


def scale_rows(results: dict[str, Any]) -> list[list[str]]:
    """Return one summary row per scale scenario in `results`, in run order."""
    rows = []
    for name, result in results.get("scale", {}).items():
        scenario = SCALE_SCENARIOS[name]
        measured, met, _details = scenario.describe(result)
        other = "-"
        if scenario.other_cores is not None:
            other = f"{scenario.other_cores(result):.2f}"
        rows.append([scenario.title, measured, scenario.goal, _verdict(met), other])
    return rows


SCALE_HEADER = ["Scenario", "Measured", "Goal", "Result", "Other cores"]


def scale_details(
    results: dict[str, Any],
) -> list[tuple[ScaleScenario, list[tuple[str, str]]]]:
    """Return each scale scenario in `results` with its detail rows."""
    found = []
    for name, result in results.get("scale", {}).items():
        scenario = SCALE_SCENARIOS[name]
        _measured, _met, details = scenario.describe(result)
        found.append((scenario, details))
    return found


def console_text(results: dict[str, Any]) -> str:
    """Return the scale scenarios' summary and details as console text."""
    rows = scale_rows(results)
    if not rows:
        return ""
    parts = [report.text_table(SCALE_HEADER, rows)]
    for scenario, details in scale_details(results):
        lines = [f"{scenario.title}:"]
        lines += [f"  {name}: {value}" for name, value in details]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)
