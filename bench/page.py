"""Render docs/benchmarks.md from a results file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import report, scale, soak
from bench.chart import write_chart

# Hand-written analysis of the latest run, included in the generated page.
NOTES_PATH = Path(__file__).resolve().parent / "notes.md"
TARGET_DESCRIPTIONS = {
    "direct": (
        "wrk sends requests straight to the downstream, with the downstream "
        "token and the custom headers that a relay would add."
    ),
    "nginx": (
        "nginx `proxy_pass` with one worker and upstream keepalive. It replaces "
        "the Authorization header, adds the two custom headers, and maps "
        "downstream URLs back to itself with `proxy_redirect` (Location) and "
        "`sub_filter` (body). This is the practical ceiling for a proxy."
    ),
    "floor": (
        "`bench/floor_proxy.py`: a bare ASGI app on uvicorn with httptools and "
        "uvloop, forwarding through one aiohttp `ClientSession`. It adds the "
        "headers but has no auth, no request log and no URL rewriting, so its "
        "cost is the floor under any Python relay on this stack."
    ),
    "floor-granian": "the same floor proxy served by granian (uvloop).",
    "floor-httpx": "the same floor proxy forwarding with an httpx `AsyncClient`.",
    "relay": (
        "`scimrelay serve` with a fresh data dir, one tenant and one integration "
        "created through the CLI: API key auth, the downstream token, two custom "
        "headers, Location and meta.location rewriting, and the request log."
    ),
}


CHART_NAME = "benchmarks.png"
SOAK_CHART_NAME = "benchmarks-soak.png"


def render_page(results: dict[str, Any], chart_name: str = CHART_NAME) -> str:
    """Return the Markdown page for `results`, embedding the chart `chart_name`."""
    sections = [
        _introduction(),
        _results(results, chart_name),
        _scale(results),
        _notes(),
        _targets(results),
        _method(results),
        _machine(results),
        _reproduce(results),
    ]
    return "\n\n".join(sections) + "\n"


def _introduction() -> str:
    return (
        "# Benchmarks\n\n"
        "This page compares the relay with three references on the same fixed "
        "downstream, under the same load from wrk. It then measures the relay's "
        "memory on large requests, its throughput with many integrations and "
        "several workers, and its memory over a soak. `make bench` (or "
        "`python bench/run.py`) regenerates it, and the charts, from a new run; "
        "raw results go to `bench/results/`, which git ignores."
    )


def _results(results: dict[str, Any], chart_name: str) -> str:
    options = results["options"]
    if not results["runs"]:
        return (
            "## Results\n\n"
            f"Measured {results['started_at']} with `{results['command']}`, "
            "without the GET and POST scenarios."
        )
    lines = [
        "## Results",
        "",
        f"Measured {results['started_at']} with `{results['command']}`: "
        f"medians of {options['rounds']} round(s) of {options['duration_s']} s per "
        f"target and scenario, request log on {options['database']}, "
        f"{options['relay_workers']} relay worker(s), nice value "
        f"{options.get('nice', 0)} for every process of the benchmark. The range "
        "column gives the lowest and highest round.",
        "",
        _contention_warning(results),
        "",
        report.markdown_table(report.RESULTS_HEADER, report.results_table(results)),
        "",
        f"![Throughput and latency per scenario and target]({chart_name})",
    ]
    comparisons = report.comparison_table(results)
    if comparisons:
        lines += [
            "",
            "### Relay compared with the references",
            "",
            "Throughput ratios of the medians, the relay's median latency minus "
            "the direct one, and the ratio of the relay's CPU time per request "
            "to the floor's. The last one depends least on what else the "
            "machine is doing.",
            "",
            report.markdown_table(report.COMPARISON_HEADER, comparisons),
            "",
            "### Goals",
            "",
            report.markdown_table(
                ["Goal", "Measured", "Result"],
                report.goal_rows(report.summarize(results)),
            ),
        ]
    return "\n".join(lines)


def _scale(results: dict[str, Any]) -> str:
    """Render the scale scenarios' section, or a line noting that none ran."""
    rows = scale.scale_rows(results)
    if not rows:
        return (
            "## Memory, scale, soak and workers\n\n"
            "Not measured in this run (`--scenarios` left them out)."
        )
    sizes = results["options"].get("scale", {})
    lines = [
        "## Memory, scale, soak and workers",
        "",
        "Each of these scenarios starts relays of its own, with one worker "
        "unless stated and a fresh SQLite store, next to the servers above. "
        "Memory figures depend little on what else the machine runs; "
        "throughput figures do, so the last column gives the median cores "
        "that other processes used during their load, as the CPU column "
        "above does. "
        f"Sizes: {sizes.get('patch_members', 0):,} members, "
        f"{sizes.get('import_users', 0):,} users, "
        f"{sizes.get('integrations', 0):,} integrations, "
        f"{sizes.get('soak_minutes', 0):g} minutes of soak.",
        "",
        report.markdown_table(scale.SCALE_HEADER, rows),
    ]
    for scenario, details in scale.scale_details(results):
        lines += ["", f"**{scenario.title}**. {scenario.method}", ""]
        lines += [f"- {name}: {value}" for name, value in details]
    if "soak" in results.get("scale", {}):
        lines += ["", f"![Relay RSS during the soak]({SOAK_CHART_NAME})"]
    return "\n".join(lines)


def _contention_warning(results: dict[str, Any]) -> str:
    other = report.median_other_cores(results)
    cores = results["machine"]["cores"]
    if other <= report.DISTURBED_OTHER_CORES:
        return (
            f"Processes outside the benchmark used a median of {other:.2f} of "
            f"the {cores} cores during the runs."
        )
    return (
        f"**Processes outside the benchmark used a median of {other:.2f} of the "
        f"{cores} cores during the runs**, so every target had less CPU than on "
        "an idle machine and absolute figures are low. The targets alternated, "
        "so the ratios are fairer than the absolute figures, and CPU time per "
        "request is the least affected figure."
    )


def _targets(results: dict[str, Any]) -> str:
    lines = ["## Targets", ""]
    for target in results["targets"]:
        description = TARGET_DESCRIPTIONS.get(target["name"], "")
        lines.append(f"- **{target['label']}**: {description}")
    lines += [
        "",
        "The downstream is nginx with one worker, returning a fixed 1.6 kB "
        "SCIM user (with `meta.location` pointing at itself) for "
        "`GET /scim/v2/Users/{id}`, and the same user with status 201 and a "
        "Location header for `POST /scim/v2/Users`. It answers 401 or 400 when "
        "the downstream token or a custom header is missing, so a proxy that "
        "drops them shows up as errors. Before any load, one request per "
        "target and scenario checks the status, the user id and the rewritten "
        "locations.",
    ]
    return "\n".join(lines)


def _notes() -> str:
    """Return the maintained analysis in bench/notes.md, placed after the results."""
    return NOTES_PATH.read_text().strip() if NOTES_PATH.exists() else ""


def _method(results: dict[str, Any]) -> str:
    options = results["options"]
    return "\n".join(
        [
            "## Method and limits",
            "",
            f"- Each target gets a {options['warmup_s']} s warm-up per scenario, "
            "then every round runs each scenario on each target once, starting "
            "with the next target in turn.",
            "- wrk runs with one thread for all connections (`c` in the "
            "scenario name), a closed loop: each connection sends its next "
            "request when the previous response arrives. Latency is measured "
            "by wrk from send to response, so under saturation it reflects "
            "queueing as well as service time.",
            "- Everything shares one machine: wrk, the downstream and the "
            "target compete for the same cores, and nothing is pinned. "
            "Absolute numbers are therefore lower than on separate hosts, and "
            "the ratios between targets are the figures to compare.",
            "- The downstream answers from memory, so the numbers show the cost "
            "of each proxy, not of a real SCIM application.",
            _disturbance_note(results),
        ]
    )


def _disturbance_note(results: dict[str, Any]) -> str:
    if not results["runs"]:
        return "- No wrk scenario ran against the references in this run."
    disturbed = report.disturbed_runs(results)
    note = (
        "- The CPU cores column gives the median number of cores used during "
        "a run, and the server CPU column divides the proxy's (for direct, the "
        "downstream's) CPU time by its requests. "
        f'"other" is CPU time outside the target, the downstream and wrk. '
        f"In {len(disturbed)} of {len(results['runs'])} runs it exceeded "
        f"{report.DISTURBED_OTHER_CORES:g} cores, meaning other processes on "
        "the machine competed with the benchmark"
    )
    if not disturbed:
        return note + "."
    if len(disturbed) > len(results["runs"]) // 2:
        return note + ". Medians over the rounds damp this only in part."
    keys = sorted({f"{run['scenario']} {run['target']}" for run in disturbed})
    return note + f" ({', '.join(keys)}). Medians over the rounds damp this."


def _machine(results: dict[str, Any]) -> str:
    machine = results["machine"]
    software = results["software"]
    machine_rows = [[name, str(value)] for name, value in machine.items()]
    software_rows = [[name, str(value)] for name, value in software.items()]
    return "\n".join(
        [
            "## Machine and software",
            "",
            report.markdown_table(["Machine", "Value"], machine_rows),
            "",
            report.markdown_table(["Software", "Version"], software_rows),
        ]
    )


def _reproduce(results: dict[str, Any]) -> str:
    return "\n".join(
        [
            "## Reproduce",
            "",
            "```sh",
            "pip install -e '.[test,bench]'   # matplotlib and py-spy",
            "apt-get install -y nginx wrk     # run.py does this itself as root",
            results["command"],
            "```",
            "",
            "Each load run is one wrk call of this form:",
            "",
            "```sh",
            "wrk --threads=1 --connections=C --duration=Ds --timeout=5s \\",
            "    --script=bench/wrk_request.lua URL",
            "```",
            "",
            "`python bench/run.py --help` lists the options: `--quick`, "
            "`--rounds`, `--duration`, `--scenarios`, `--targets`, "
            "`--database-url`, `--relay-workers`, `--relay-env`, "
            "`--profile` (py-spy samples of the Python targets under load), "
            "and the scale scenarios' `--soak-minutes`, `--patch-members`, "
            "`--import-users` and `--integrations`. "
            "`python bench/run.py --report-only bench/results/FILE.json` "
            "rebuilds this page and the chart from saved results.",
        ]
    )


def write_page(results: dict[str, Any], docs_dir: Path) -> list[Path]:
    """Write benchmarks.md and its charts into `docs_dir`; return their paths."""
    page_path = docs_dir / "benchmarks.md"
    written = [page_path]
    if results["runs"]:
        written.append(docs_dir / CHART_NAME)
        write_chart(results, written[-1])
    soaked = results.get("scale", {}).get("soak")
    if soaked is not None:
        written.append(docs_dir / SOAK_CHART_NAME)
        soak.write_chart(soaked, written[-1])
    report.write_text(page_path, render_page(results, CHART_NAME))
    return written
