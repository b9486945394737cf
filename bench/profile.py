"""Sample a Python target with py-spy while wrk loads it.

py-spy writes collapsed stacks ("raw" format), which speedscope and
flamegraph.pl read. The summary lists the functions with the most samples,
inclusive (anywhere on the stack) and self (on top of the stack).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.load import LoadResult, LoadSpec, run_wrk
from bench.measure import load_spec
from bench.scenarios import Scenario
from bench.targets import RunContext, Target

# Targets that run Python, so py-spy can sample them.
PYTHON_TARGETS = ("floor", "relay")
SAMPLE_RATE_HZ = 250
# Path prefixes of the code under test, after PATH_PREFIX shortening.
PROJECT_FRAMES = ("scimrelay/", "bench/")
# Seconds between starting py-spy and starting wrk, so it is attached in time.
ATTACH_DELAY_S = 1.0
# Seconds py-spy may take to write its output once wrk has finished.
FINISH_TIMEOUT_S = 60
# Shortens "func (/long/site-packages/pkg/mod.py:12)" to "func (pkg/mod.py:12)".
PATH_PREFIX = re.compile(r"\(\S*?/(?:site-packages|src|lib/python3\.\d+)/")


def py_spy_binary() -> str:
    candidate = Path(sys.executable).with_name("py-spy")
    found = str(candidate) if candidate.exists() else shutil.which("py-spy")
    if found is None:
        raise FileNotFoundError(
            "py-spy not found; install the bench extra: pip install -e '.[bench]'"
        )
    return found


def profile_under_load(
    pid: int, spec: LoadSpec, output: Path, workdir: Path
) -> LoadResult:
    """Record `pid` and its child processes with py-spy during one wrk run."""
    command = [
        py_spy_binary(),
        "record",
        "--pid",
        str(pid),
        "--subprocesses",
        "--nonblocking",
        f"--rate={SAMPLE_RATE_HZ}",
        f"--duration={spec.duration_s + 2 * ATTACH_DELAY_S:.0f}",
        "--format=raw",
        f"--output={output}",
    ]
    log_path = output.with_suffix(".py-spy.log")
    with log_path.open("wb") as log_file:
        sampler = subprocess.Popen(command, stdout=log_file, stderr=log_file)
        time.sleep(ATTACH_DELAY_S)
        result = run_wrk(spec, workdir)
        sampler.wait(timeout=spec.duration_s + FINISH_TIMEOUT_S)
    if sampler.returncode != 0 or not output.exists():
        raise RuntimeError(
            f"py-spy failed with status {sampler.returncode}; see {log_path}"
        )
    log_path.unlink()
    return result


def summarize_profile(raw_path: Path, limit: int = 20) -> str:
    """Return the top packages and functions by samples, as text.

    Self samples count the function on top of the stack. Inclusive samples
    count every function on the stack, and are listed for the project's own
    code only, because the outer frames of the server are on every stack.
    """
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for frames, count in _read_stacks(raw_path):
        for frame in set(frames):
            if frame.startswith(PROJECT_FRAMES, frame.find("(") + 1):
                inclusive[frame] += count
        own[frames[-1]] += count
    total = sum(own.values())
    if total == 0:
        return f"{raw_path}: no samples"
    packages: Counter[str] = Counter()
    for frame, count in own.items():
        packages[_package(frame)] += count
    sections = [
        ("Self samples by package:", packages),
        ("Self samples by function:", own),
        ("Inclusive samples of project functions:", inclusive),
    ]
    lines = [f"{total} samples in {raw_path.name}"]
    for title, counter in sections:
        lines += ["", title]
        lines += [
            f"{count / total:7.1%}  {name}"
            for name, count in counter.most_common(limit)
        ]
    return "\n".join(lines)


def _read_stacks(raw_path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in raw_path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        # The first frame names the process and thread, not a function.
        frames = [PATH_PREFIX.sub("(", frame) for frame in stack.split(";")[1:]]
        if count_text.isdigit() and frames:
            stacks.append((frames, int(count_text)))
    return stacks


def _package(frame: str) -> str:
    """Return the package of "func (pkg/mod.py:1)", or "stdlib" for "(mod.py:1)"."""
    location = frame[frame.find("(") + 1 :]
    if "/" in location:
        return location.split("/", 1)[0]
    return "stdlib"


def profile_targets(
    context: RunContext,
    targets: Sequence[Target],
    scenarios: Sequence[Scenario],
    duration_s: int,
    output_dir: Path,
) -> list[dict[str, Any]]:
    """Sample each Python target with py-spy under each profile scenario."""
    profiles = []
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    output_dir.mkdir(parents=True, exist_ok=True)
    for scenario in scenarios:
        for target in targets:
            if target.name not in PYTHON_TARGETS or target.pid is None:
                continue
            output = output_dir / f"{stamp}-{target.name}-{scenario.key}.txt"
            print(f"Profiling {target.name} under {scenario.key}", flush=True)
            spec = load_spec(target, scenario, duration_s)
            result = profile_under_load(target.pid, spec, output, context.workdir)
            summary = summarize_profile(output)
            output.with_suffix(".summary.txt").write_text(summary + "\n")
            print(summary, flush=True)
            profiles.append(
                {
                    "target": target.name,
                    "scenario": scenario.key,
                    "raw": str(output),
                    "throughput_rps_while_sampled": result.throughput_rps,
                }
            )
    return profiles
