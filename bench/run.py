"""Run the relay benchmark: `python bench/run.py [options]`, or `make bench`.

Starts a fixed nginx downstream, the references and the relay on loopback,
loads each with wrk, then runs the memory, scale, soak and workers scenarios
on relays of their own. It prints the results, saves them as JSON in
bench/results/ (with the soak's RSS samples as CSV and a chart) and writes
docs/benchmarks.md with its charts.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a script: make the repository root importable for `bench.*`.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import report, scale, soak
from bench.page import write_page
from bench.scale import SCALE_SCENARIOS, ScaleOptions
from bench.scenarios import SCENARIO_BUILDERS, Scenario, select_scenarios
from bench.suite import DEFAULT_TARGETS, TARGET_STARTERS, SuiteOptions, run_suite

REPOSITORY = Path(__file__).resolve().parent.parent
DEFAULT_RESULTS_DIR = REPOSITORY / "bench" / "results"
DEFAULT_DOCS_DIR = REPOSITORY / "docs"
# Option values that --quick sets, overriding the command line.
QUICK_SETTINGS = {
    "rounds": 1,
    "duration": 2,
    "warmup": 1,
    "quiet_wait": 2.0,
    "retries": 0,
    "soak_minutes": 1.0,
}
DEFAULT_SCENARIOS = ",".join(["get", "post", *SCALE_SCENARIOS])


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python bench/run.py", description=__doc__.splitlines()[0]
    )
    _add_measurement_options(parser.add_argument_group("measurement"))
    _add_scale_options(parser.add_argument_group("scale scenarios"))
    _add_relay_options(parser.add_argument_group("relay"))
    _add_output_options(parser.add_argument_group("output"))
    return parser.parse_args(argv)


def _add_measurement_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--quick",
        action="store_true",
        help="one round of 2 s runs with 1 s warm-ups, no retries and a 1-minute "
        "soak, for a smoke test",
    )
    group.add_argument(
        "--rounds", type=int, default=3, help="rounds over all targets (default 3)"
    )
    group.add_argument(
        "--duration", type=int, default=5, help="seconds per wrk run (default 5)"
    )
    group.add_argument(
        "--warmup",
        type=int,
        default=2,
        help="seconds of warm-up per target and scenario (default 2, 0 skips it)",
    )
    group.add_argument(
        "--quiet-wait",
        type=float,
        default=10.0,
        help="max seconds to wait before each run for other processes to use "
        "under half a core (default 10)",
    )
    group.add_argument(
        "--retries",
        type=int,
        default=1,
        help="extra runs allowed when other processes disturbed a run; the "
        "least disturbed run counts (default 1)",
    )
    group.add_argument(
        "--nice",
        type=int,
        default=0,
        help="scheduling priority for the benchmark and every server it "
        "starts, from -20 (highest, root only) to 19 (default 0)",
    )
    group.add_argument(
        "--scenarios",
        default=DEFAULT_SCENARIOS,
        help="comma-separated scenarios: get and post for every default "
        "concurrency (1 and 32) or NAME-cN for one, e.g. get-c1,post, and the "
        f"scale scenarios {', '.join(SCALE_SCENARIOS)} (default {DEFAULT_SCENARIOS})",
    )
    group.add_argument(
        "--targets",
        default=",".join(DEFAULT_TARGETS),
        help=f"comma-separated targets among {', '.join(TARGET_STARTERS)} "
        f"(default {','.join(DEFAULT_TARGETS)})",
    )


def _add_scale_options(group: argparse._ArgumentGroup) -> None:
    defaults = ScaleOptions()
    group.add_argument(
        "--soak-minutes",
        type=float,
        default=defaults.soak_minutes,
        help="minutes of load in the soak scenario "
        f"(default {defaults.soak_minutes:g})",
    )
    group.add_argument(
        "--patch-members",
        type=int,
        default=defaults.patch_members,
        help="members added by the PATCH of the members scenario "
        f"(default {defaults.patch_members})",
    )
    group.add_argument(
        "--import-users",
        type=int,
        default=defaults.import_users,
        help=f"users paged through in the import scenario (default "
        f"{defaults.import_users})",
    )
    group.add_argument(
        "--integrations",
        type=int,
        default=defaults.integrations,
        help="integrations configured in the integrations scenario "
        f"(default {defaults.integrations})",
    )


def _add_relay_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--database-url",
        help="SQLAlchemy URL of the relay's database, e.g. "
        "postgresql+psycopg://postgres@127.0.0.1:5432/test (default: SQLite "
        "in the relay's fresh data dir)",
    )
    group.add_argument(
        "--relay-workers",
        type=int,
        default=1,
        help="relay worker processes, passed as `serve --workers` (default 1)",
    )
    group.add_argument(
        "--relay-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment variable for the relay, e.g. "
        "SCIMRELAY_LOG_LEVEL=WARNING; repeat for several",
    )
    group.add_argument(
        "--profile",
        metavar="SCENARIOS",
        help="after the rounds, sample the floor and the relay with py-spy "
        "under these scenarios (same syntax as --scenarios), writing collapsed "
        "stacks and a summary to the results folder",
    )


def _add_output_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--results-dir",
        type=Path,
        default=DEFAULT_RESULTS_DIR,
        help="folder for the raw JSON results (default bench/results)",
    )
    group.add_argument(
        "--docs-dir",
        type=Path,
        default=DEFAULT_DOCS_DIR,
        help="folder for benchmarks.md and benchmarks.png (default docs)",
    )
    group.add_argument(
        "--no-docs",
        action="store_true",
        help="print and save results without touching the docs folder",
    )
    group.add_argument(
        "--keep-workdir",
        action="store_true",
        help="keep the temporary folder with configs and server logs",
    )
    group.add_argument(
        "--report-only",
        type=Path,
        metavar="RESULTS_JSON",
        help="skip measuring and rebuild the report from a saved results file",
    )


def suite_options(arguments: argparse.Namespace) -> SuiteOptions:
    """Validate the command-line arguments and turn them into SuiteOptions."""
    target_names = [name.strip() for name in arguments.targets.split(",") if name]
    unknown = [name for name in target_names if name not in TARGET_STARTERS]
    if unknown or not target_names:
        raise ValueError(
            f"invalid --targets {arguments.targets!r}; "
            f"choose from {', '.join(TARGET_STARTERS)}"
        )
    if arguments.quick:
        for name, value in QUICK_SETTINGS.items():
            setattr(arguments, name, value)
    counts = (arguments.rounds, arguments.duration, arguments.relay_workers)
    if min(counts) < 1:
        raise ValueError("--rounds, --duration and --relay-workers must be >= 1")
    if min(arguments.warmup, arguments.quiet_wait, arguments.retries) < 0:
        raise ValueError("--warmup, --quiet-wait and --retries must be >= 0")
    profile_scenarios = select_scenarios(arguments.profile) if arguments.profile else []
    scenarios, scale_names = split_scenarios(arguments.scenarios)
    return SuiteOptions(
        target_names=target_names,
        scenarios=scenarios,
        rounds=arguments.rounds,
        duration_s=arguments.duration,
        warmup_s=arguments.warmup,
        quiet_wait_s=arguments.quiet_wait,
        retries=arguments.retries,
        database_url=arguments.database_url,
        relay_workers=arguments.relay_workers,
        relay_settings=parse_settings(arguments.relay_env),
        nice=arguments.nice,
        keep_workdir=arguments.keep_workdir,
        profile_scenarios=profile_scenarios,
        profile_dir=arguments.results_dir,
        scale_names=scale_names,
        scale=scale_options(arguments),
    )


def split_scenarios(spec: str) -> tuple[list[Scenario], list[str]]:
    """Split --scenarios into wrk scenarios and scale scenario names."""
    items = [item.strip() for item in spec.split(",") if item.strip()]
    known = [*SCENARIO_BUILDERS, *SCALE_SCENARIOS]
    unknown = [
        item
        for item in items
        if item not in SCALE_SCENARIOS and item.partition("-c")[0] not in known
    ]
    if unknown or not items:
        raise ValueError(
            f"invalid --scenarios {spec!r}; choose from {', '.join(known)}"
        )
    scale_names = [item for item in items if item in SCALE_SCENARIOS]
    wrk_items = [item for item in items if item not in SCALE_SCENARIOS]
    scenarios = select_scenarios(",".join(wrk_items)) if wrk_items else []
    return scenarios, list(dict.fromkeys(scale_names))


def scale_options(arguments: argparse.Namespace) -> ScaleOptions:
    """Check the scale scenarios' sizes and collect them with the round settings."""
    sizes = {
        "--patch-members": arguments.patch_members,
        "--import-users": arguments.import_users,
        "--integrations": arguments.integrations,
    }
    too_small = [name for name, value in sizes.items() if value < 1]
    if too_small:
        raise ValueError(f"{', '.join(too_small)} must be >= 1")
    if arguments.soak_minutes <= 0:
        raise ValueError("--soak-minutes must be > 0")
    return ScaleOptions(
        patch_members=arguments.patch_members,
        import_users=arguments.import_users,
        integrations=arguments.integrations,
        soak_minutes=arguments.soak_minutes,
        rounds=arguments.rounds,
        duration_s=arguments.duration,
        warmup_s=arguments.warmup,
        quiet_wait_s=arguments.quiet_wait,
    )


def parse_settings(assignments: list[str]) -> dict[str, str]:
    """Turn NAME=VALUE strings into a dict, rejecting any without a name."""
    settings = {}
    for assignment in assignments:
        name, separator, value = assignment.partition("=")
        if not separator or not name:
            raise ValueError(f"invalid --relay-env {assignment!r}; use NAME=VALUE")
        settings[name] = value
    return settings


def set_priority(nice: int) -> None:
    """Set this process's nice value, which every server and wrk inherit."""
    if os.getpriority(os.PRIO_PROCESS, 0) != nice:
        os.setpriority(os.PRIO_PROCESS, 0, nice)


def save_results(results: dict[str, Any], results_dir: Path) -> Path:
    """Save the results as JSON, and the soak's samples as CSV and a chart."""
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = results_dir / f"{stamp}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    soaked = results.get("scale", {}).get("soak")
    if soaked is not None:
        soak.write_samples(soaked, results_dir / f"{stamp}-soak.csv")
        soak.write_chart(soaked, results_dir / f"{stamp}-soak.png")
    return path


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    # SystemExit unwinds the ExitStack, which stops every server started.
    sys.exit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if arguments.report_only:
        results = json.loads(arguments.report_only.read_text())
    else:
        try:
            options = suite_options(arguments)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        command = shlex.join(["python", "bench/run.py", *sys.argv[1:]])
        try:
            set_priority(arguments.nice)
        except PermissionError:
            print(f"error: --nice {arguments.nice} requires root", file=sys.stderr)
            return 2
        results = run_suite(options, command)
        print(f"Raw results: {save_results(results, arguments.results_dir)}")
    print()
    if results["runs"]:
        print(report.console_report(results))
    print(scale.console_text(results))
    if not arguments.no_docs:
        written = write_page(results, arguments.docs_dir)
        print(f"\nWrote {', '.join(str(path) for path in written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
