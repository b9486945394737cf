"""Summaries of a results file: the console table and docs/benchmarks.md."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RELAY = "relay"
# (baseline target, column title) for the relay's throughput ratios.
RATIO_BASELINES = (
    ("floor", "relay/floor"),
    ("nginx", "relay/nginx"),
    ("direct", "relay/direct"),
)
# The relay's performance goals.
MAX_ADDED_P50_MS = 0.3
MAX_ADDED_P99_MS = 2.0
CPU_PARTS = ("downstream", "wrk", "other")
# Cores used by processes outside the benchmark above which a run counts as
# disturbed: its numbers are likely low.
DISTURBED_OTHER_CORES = 0.5
MIN_FLOOR_RATIO = 0.8


@dataclass(frozen=True)
class Summary:
    """Medians over the rounds of one target in one scenario."""

    target: str
    scenario: str
    rounds: int
    throughput_rps: float
    throughput_min: float
    throughput_max: float
    p50_ms: float
    p99_ms: float
    errors: int
    # Median cores used by each part: target, downstream, wrk and other.
    cores: dict[str, float]
    cpu_us_per_request: float | None


def summarize(results: dict[str, Any]) -> dict[tuple[str, str], Summary]:
    """Return one Summary per (scenario key, target name) in `results`."""
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for run in results["runs"]:
        grouped.setdefault((run["scenario"], run["target"]), []).append(run)
    return {key: _summary(key, runs) for key, runs in grouped.items()}


def _summary(key: tuple[str, str], runs: list[dict[str, Any]]) -> Summary:
    throughputs = [run["throughput_rps"] for run in runs]
    return Summary(
        target=key[1],
        scenario=key[0],
        rounds=len(runs),
        throughput_rps=statistics.median(throughputs),
        throughput_min=min(throughputs),
        throughput_max=max(throughputs),
        p50_ms=statistics.median(run["latency_ms"]["p50"] for run in runs),
        p99_ms=statistics.median(run["latency_ms"]["p99"] for run in runs),
        errors=sum(run["error_count"] for run in runs),
        cores=_median_cores(runs),
        cpu_us_per_request=_median_cpu_per_request(runs),
    )


def _median_cpu_per_request(runs: list[dict[str, Any]]) -> float | None:
    """Return the median CPU time the server spent per request, in µs.

    The server is the proxy, or the downstream for the direct target.
    """
    values = []
    for run in runs:
        cores = run.get("cpu_cores", {})
        server_cores = cores.get("target", cores.get("downstream"))
        if server_cores is not None and run["throughput_rps"] > 0:
            values.append(server_cores / run["throughput_rps"] * 1e6)
    return statistics.median(values) if values else None


def _median_cores(runs: list[dict[str, Any]]) -> dict[str, float]:
    names = {name for run in runs for name in run.get("cpu_cores", {})}
    return {
        name: statistics.median(run["cpu_cores"].get(name, 0.0) for run in runs)
        for name in sorted(names)
    }


def cpu_cell(summary: Summary) -> str:
    """Format median cores as "proxy / downstream / wrk / other".

    The direct target has no proxy, so its first figure is a dash.
    """
    cores = summary.cores
    if not cores:
        return "n/a"
    proxy = f"{cores['target']:.2f}" if "target" in cores else "-"
    parts = [proxy] + [f"{cores.get(name, 0.0):.2f}" for name in CPU_PARTS]
    return " / ".join(parts)


def disturbed_runs(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the runs during which other processes used noticeable CPU."""
    return [
        run
        for run in results["runs"]
        if run.get("cpu_cores", {}).get("other", 0.0) > DISTURBED_OTHER_CORES
    ]


def median_other_cores(results: dict[str, Any]) -> float:
    """Return the median over all runs of the cores used by other processes."""
    values = [run.get("cpu_cores", {}).get("other", 0.0) for run in results["runs"]]
    return statistics.median(values) if values else 0.0


def throughput_ratio(
    summaries: dict[tuple[str, str], Summary], scenario: str, baseline: str
) -> float | None:
    """Return relay throughput / `baseline` throughput, if both were measured."""
    relay = summaries.get((scenario, RELAY))
    other = summaries.get((scenario, baseline))
    if relay is None or other is None or other.throughput_rps == 0:
        return None
    return relay.throughput_rps / other.throughput_rps


def cpu_ratio(
    summaries: dict[tuple[str, str], Summary], scenario: str, baseline: str
) -> float | None:
    """Return relay CPU time per request / `baseline`'s, if both were measured."""
    relay = summaries.get((scenario, RELAY))
    other = summaries.get((scenario, baseline))
    if relay is None or other is None:
        return None
    if relay.cpu_us_per_request is None or not other.cpu_us_per_request:
        return None
    return relay.cpu_us_per_request / other.cpu_us_per_request


def added_p50_ms(
    summaries: dict[tuple[str, str], Summary], scenario: str, baseline: str = "direct"
) -> float | None:
    """Return the relay's median latency minus `baseline`'s, in milliseconds."""
    relay = summaries.get((scenario, RELAY))
    other = summaries.get((scenario, baseline))
    if relay is None or other is None:
        return None
    return relay.p50_ms - other.p50_ms


def added_p99_ms(
    summaries: dict[tuple[str, str], Summary], scenario: str, baseline: str = "direct"
) -> float | None:
    """Return the relay's p99 latency minus `baseline`'s, in milliseconds."""
    relay = summaries.get((scenario, RELAY))
    other = summaries.get((scenario, baseline))
    if relay is None or other is None:
        return None
    return relay.p99_ms - other.p99_ms


def goal_rows(summaries: dict[tuple[str, str], Summary]) -> list[list[str]]:
    """Return (goal, measured, met) rows for the relay's performance goals."""
    added = added_p50_ms(summaries, "get-c1")
    added_p99 = added_p99_ms(summaries, "get-c32")
    ratio = throughput_ratio(summaries, "get-c32", "floor")
    return [
        [
            f"GET at c=1 adds at most {MAX_ADDED_P50_MS:g} ms to the median latency",
            _format(added, " ms", 3),
            _verdict(added, lambda value: value <= MAX_ADDED_P50_MS),
        ],
        [
            f"GET at c=32 adds at most {MAX_ADDED_P99_MS:g} ms to the p99 latency",
            _format(added_p99, " ms", 3),
            _verdict(added_p99, lambda value: value <= MAX_ADDED_P99_MS),
        ],
        [
            f"GET throughput at c=32 at least {MIN_FLOOR_RATIO:g} of the floor's",
            _format(ratio, "", 2),
            _verdict(ratio, lambda value: value >= MIN_FLOOR_RATIO),
        ],
    ]


def _verdict(value: float | None, test: Any) -> str:
    if value is None:
        return "not measured"
    return "met" if test(value) else "not met"


def _format(value: float | None, unit: str, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


def results_table(results: dict[str, Any]) -> list[list[str]]:
    """Return one row per scenario and target, in the order they ran."""
    summaries = summarize(results)
    labels = {target["name"]: target["label"] for target in results["targets"]}
    rows = []
    for scenario in results["scenarios"]:
        for target in results["targets"]:
            summary = summaries.get((scenario["key"], target["name"]))
            if summary is None:
                continue
            rows.append(
                [
                    scenario["title"],
                    labels[target["name"]],
                    f"{summary.throughput_rps:,.0f}",
                    f"{summary.throughput_min:,.0f} - {summary.throughput_max:,.0f}",
                    f"{summary.p50_ms:.3f}",
                    f"{summary.p99_ms:.3f}",
                    str(summary.errors),
                    cpu_cell(summary),
                    _format(summary.cpu_us_per_request, "", 0),
                ]
            )
    return rows


RESULTS_HEADER = [
    "Scenario",
    "Target",
    "Requests/s (median)",
    "Requests/s (range)",
    "p50 (ms)",
    "p99 (ms)",
    "Errors",
    "CPU cores: proxy / downstream / wrk / other",
    "Server CPU per request (µs)",
]


def comparison_table(results: dict[str, Any]) -> list[list[str]]:
    """Return the relay's throughput ratios and added median latency per scenario."""
    summaries = summarize(results)
    rows = []
    for scenario in results["scenarios"]:
        key = scenario["key"]
        if (key, RELAY) not in summaries:
            continue
        ratios = [
            _format(throughput_ratio(summaries, key, baseline), "", 2)
            for baseline, _ in RATIO_BASELINES
        ]
        added = _format(added_p50_ms(summaries, key), "", 3)
        cpu = _format(cpu_ratio(summaries, key, "floor"), "", 2)
        rows.append([scenario["title"], *ratios, added, cpu])
    return rows


COMPARISON_HEADER = [
    "Scenario",
    *(title for _, title in RATIO_BASELINES),
    "Added p50 over direct (ms)",
    "CPU per request, relay/floor",
]


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Format rows as aligned plain-text columns for the console."""
    widths = [
        max(len(str(cell)) for cell in column)
        for column in zip(header, *rows, strict=False)
    ]
    lines = [
        "  ".join(
            str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)
        )
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Format rows as a GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def console_report(results: dict[str, Any]) -> str:
    """Return the results, comparisons and goals as console text."""
    parts = [text_table(RESULTS_HEADER, results_table(results))]
    comparisons = comparison_table(results)
    if comparisons:
        parts.append(text_table(COMPARISON_HEADER, comparisons))
        rows = goal_rows(summarize(results))
        parts.append(text_table(["Goal", "Measured", "Result"], rows))
    return "\n\n".join(parts)


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
