"""The PNG chart of a results file: throughput and latency per scenario."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, NullFormatter

from bench.report import Summary, summarize

COLORS = {
    "direct": "#7f7f7f",
    "nginx": "#2ca02c",
    "floor": "#1f77b4",
    "relay": "#d62728",
    "floor-granian": "#9467bd",
    "floor-httpx": "#8c564b",
}
BAR_GROUP_WIDTH = 0.8


def write_chart(results: dict[str, Any], path: Path) -> None:
    """Draw median throughput and latency per scenario and target into `path`."""
    summaries = summarize(results)
    scenarios = results["scenarios"]
    targets = results["targets"]
    figure, (throughput_axes, latency_axes) = plt.subplots(
        1, 2, figsize=(13, 5.2), layout="constrained"
    )
    _draw_throughput(throughput_axes, summaries, scenarios, targets)
    _draw_latency(latency_axes, summaries, scenarios, targets)
    handles, labels = throughput_axes.get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=len(targets))
    options = results["options"]
    rounds = options["rounds"]
    figure.suptitle(
        f"scimrelay benchmark: medians of {rounds} round{'s' if rounds > 1 else ''}"
        f" of {options['duration_s']} s, {results['machine']['cores']} cores "
        f"({results['machine']['cpu']})"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _bar_offsets(count: int) -> list[float]:
    width = BAR_GROUP_WIDTH / count
    return [(index - (count - 1) / 2) * width for index in range(count)]


def _draw_throughput(
    axes: Axes,
    summaries: dict[tuple[str, str], Summary],
    scenarios: list[dict[str, Any]],
    targets: list[dict[str, Any]],
) -> None:
    width = BAR_GROUP_WIDTH / len(targets)
    for offset, target in zip(_bar_offsets(len(targets)), targets, strict=True):
        values = [
            _value(summaries, scenario["key"], target["name"], "throughput_rps")
            for scenario in scenarios
        ]
        positions = [index + offset for index in range(len(scenarios))]
        bars = axes.bar(
            positions,
            values,
            width,
            label=target["label"],
            color=COLORS.get(target["name"]),
        )
        axes.bar_label(
            bars,
            labels=[f"{value:,.0f}" for value in values],
            fontsize=7,
            rotation=90,
            padding=2,
        )
    _label_scenarios(axes, scenarios)
    axes.set_yscale("log")
    axes.yaxis.set_major_formatter(FuncFormatter(_thousands))
    axes.yaxis.set_minor_formatter(NullFormatter())
    # Room above the tallest bar for its rotated value label.
    axes.set_ylim(top=axes.get_ylim()[1] * 2)
    axes.set_ylabel("requests/s (log scale, higher is better)")
    axes.set_title("Throughput")


def _draw_latency(
    axes: Axes,
    summaries: dict[tuple[str, str], Summary],
    scenarios: list[dict[str, Any]],
    targets: list[dict[str, Any]],
) -> None:
    width = BAR_GROUP_WIDTH / len(targets)
    for offset, target in zip(_bar_offsets(len(targets)), targets, strict=True):
        keys = [scenario["key"] for scenario in scenarios]
        p50 = [_value(summaries, key, target["name"], "p50_ms") for key in keys]
        p99 = [_value(summaries, key, target["name"], "p99_ms") for key in keys]
        positions = [index + offset for index in range(len(scenarios))]
        axes.bar(positions, p50, width, color=COLORS.get(target["name"]))
        axes.scatter(positions, p99, marker="_", s=120, color="black", zorder=3)
    axes.scatter([], [], marker="_", s=120, color="black", label="p99")
    axes.legend(loc="upper left", fontsize=8)
    _label_scenarios(axes, scenarios)
    axes.set_yscale("log")
    axes.yaxis.set_major_formatter(FuncFormatter(_thousands))
    axes.set_ylabel("ms (log scale, lower is better)")
    axes.set_title("Latency: bar p50, tick p99")


def _thousands(value: float, _position: int) -> str:
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


def _label_scenarios(axes: Axes, scenarios: list[dict[str, Any]]) -> None:
    axes.set_xticks(range(len(scenarios)))
    axes.set_xticklabels([scenario["title"] for scenario in scenarios], fontsize=8)
    axes.grid(axis="y", which="both", alpha=0.3)


def _value(
    summaries: dict[tuple[str, str], Summary], scenario: str, target: str, name: str
) -> float:
    summary = summaries.get((scenario, target))
    return float(getattr(summary, name)) if summary else 0.0
