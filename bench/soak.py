"""Steady load on one relay for minutes, with its RSS sampled every few seconds.

wrk sends GET /Users/{id} and POST /Users at random over CONNECTIONS
connections. The first minutes fill caches, pools and the allocator's arenas,
so growth counts from minute 2 (or the middle of a shorter run): the median
RSS of the last window against that of the window at minute 2. Growth within
the spread of RSS inside the window at minute 2 is noise.
"""

from __future__ import annotations

import csv
import statistics
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import fixtures
from bench.load import LoadSpec
from bench.measure import measured_load
from bench.memory import MB, RssSampler
from bench.relay import RelayProcess, launch_relay
from bench.scenarios import SCIM_CONTENT_TYPE
from bench.targets import RunContext

CONNECTIONS = 8
SAMPLE_INTERVAL_S = 5.0
SETTLE_S = 120.0
WINDOW_S = 60.0
# Growth below this is noise however still RSS was in the window at minute 2.
MIN_NOISE_BYTES = 1 * MB


def run(context: RunContext, minutes: float) -> dict[str, Any]:
    """Load a fresh relay for `minutes` and sample its RSS."""
    relay = launch_relay(context, "relay-soak", 1)
    assert relay.target.pid is not None
    duration_s = max(1, round(minutes * 60))
    spec = LoadSpec(
        url=relay.target.scim_base_url,
        method="GET",
        headers={"Accept": SCIM_CONTENT_TYPE, "Content-Type": SCIM_CONTENT_TYPE},
        body=None,
        connections=CONNECTIONS,
        threads=1,
        duration_s=duration_s,
        max_requests_per_thread=duration_s * 500_000,
        requests_file=_requests_file(context, relay),
    )
    print(f"Soak: {duration_s} s of GET and POST at c={CONNECTIONS}", flush=True)
    with RssSampler(relay.target.pid, SAMPLE_INTERVAL_S) as sampler:
        load = measured_load(context, spec, relay.target.pid)
    return {
        "minutes": minutes,
        "connections": CONNECTIONS,
        "interval_s": SAMPLE_INTERVAL_S,
        "samples": sampler.samples,
        "load": load,
        **growth(sampler.samples, duration_s),
    }


def _requests_file(context: RunContext, relay: RelayProcess) -> Path:
    """Write a GET and a POST through the relay's integration for wrk."""
    folder = context.workdir / "soak"
    folder.mkdir(parents=True, exist_ok=True)
    body = folder / "user.json"
    body.write_text(fixtures.to_json(fixtures.new_user()))
    path = urlsplit(relay.target.scim_base_url).path
    key = relay.target.headers["Authorization"]
    lines = [
        f"GET\t{path}/Users/{fixtures.USER_ID}\t{key}\t\n",
        f"POST\t{path}/Users\t{key}\t{body}\n",
    ]
    requests = folder / "requests.tsv"
    requests.write_text("".join(lines))
    return requests


def growth(samples: list[tuple[float, int]], duration_s: float) -> dict[str, Any]:
    """Compare the RSS window at minute 2 with the last window of the run."""
    settle = min(SETTLE_S, duration_s / 2)
    window = min(WINDOW_S, (duration_s - settle) / 3)
    early = [rss for at, rss in samples if settle <= at < settle + window]
    late = [rss for at, rss in samples if at >= duration_s - window]
    if not early or not late:
        return {"growth_bytes": None, "noise_bytes": None, "from_s": settle}
    return {
        "from_s": settle,
        "window_s": window,
        "growth_bytes": int(statistics.median(late) - statistics.median(early)),
        "noise_bytes": max(MIN_NOISE_BYTES, max(early) - min(early)),
    }


def describe(result: dict[str, Any]) -> tuple[str, bool | None, list[tuple[str, str]]]:
    """Return the headline figure, whether it met the goal, and detail rows."""
    load = result["load"]
    samples = result["samples"]
    rss = [value for _at, value in samples]
    details = [
        (
            "load",
            f"{result['minutes']:g} min of GET and POST at c={result['connections']}: "
            f"{load['requests']:,} requests, {load['throughput_rps']:,.0f} req/s",
        ),
        ("errors", _errors(load)),
        (
            "RSS",
            f"{len(samples)} samples every {result['interval_s']:g} s, "
            f"{min(rss) / MB:.1f} to {max(rss) / MB:.1f} MB",
        ),
    ]
    if result["growth_bytes"] is None:
        return "too short to tell", None, details
    noise = result["noise_bytes"]
    measured = (
        f"{result['growth_bytes'] / MB:+.1f} MB from {result['from_s'] / 60:g} min "
        f"to the end (noise {noise / MB:.1f} MB), {load['error_count']} errors"
    )
    met = result["growth_bytes"] <= noise and load["error_count"] == 0
    return measured, met, details


def _errors(load: dict[str, Any]) -> str:
    if not load["error_count"]:
        return "none"
    return ", ".join(f"{name} {count}" for name, count in load["errors"].items())


def write_samples(result: dict[str, Any], path: Path) -> None:
    """Write the RSS samples as CSV: seconds since the start, RSS in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["seconds", "rss_bytes"])
        writer.writerows(result["samples"])


def write_chart(result: dict[str, Any], path: Path) -> None:
    """Draw the relay's RSS over the soak, marking where growth is counted."""
    # Imported here, so the analysis above needs only the standard library.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [at / 60 for at, _rss in result["samples"]]
    rss = [value / MB for _at, value in result["samples"]]
    figure, axes = plt.subplots(figsize=(7, 3), layout="constrained")
    axes.plot(minutes, rss, color="#d62728", linewidth=1.2)
    axes.axvline(result["from_s"] / 60, color="#7f7f7f", linestyle="--", linewidth=1)
    axes.set_xlabel("minutes of load")
    axes.set_ylabel("relay RSS (MB)")
    axes.set_ylim(bottom=0, top=max(rss, default=1) * 1.15)
    axes.grid(alpha=0.3)
    axes.set_title(
        f"Soak: GET and POST at c={result['connections']}, "
        f"RSS every {result['interval_s']:g} s",
        fontsize=10,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
