"""Drive a target with wrk and parse the result that wrk_request.lua prints."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.process import child_environment

LUA_SCRIPT = Path(__file__).with_name("wrk_request.lua")
RESULT_PREFIX = "BENCH_RESULT "
# Extra time wrk gets past its own duration before it is killed.
WRK_GRACE_S = 30


@dataclass(frozen=True)
class LoadSpec:
    """One wrk run: what to send, to where, how hard and for how long."""

    url: str
    method: str
    headers: Mapping[str, str]
    body: bytes | None
    connections: int
    threads: int
    duration_s: int
    timeout_s: int = 5
    max_requests_per_thread: int = 5_000_000
    # Tab-separated requests that wrk_request.lua picks from at random,
    # in place of `method` and `body` (see the script's header).
    requests_file: Path | None = None


@dataclass(frozen=True)
class LoadResult:
    """Throughput, latency percentiles (ms) and error counts of one wrk run."""

    requests: int
    duration_s: float
    throughput_rps: float
    latency_ms: dict[str, float]
    errors: dict[str, int] = field(default_factory=dict)
    # Requests written, including those still unanswered when wrk stopped.
    sent: int = 0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "error_count": self.error_count}


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise FileNotFoundError("wrk not found; install it with apt-get")
    return found


def run_wrk(spec: LoadSpec, workdir: Path) -> LoadResult:
    """Run wrk once as described by `spec`, raising if it prints no result."""
    workdir.mkdir(parents=True, exist_ok=True)
    environment = _script_environment(spec, workdir)
    threads = max(1, min(spec.threads, spec.connections))
    command = [
        wrk_binary(),
        f"--threads={threads}",
        f"--connections={spec.connections}",
        f"--duration={spec.duration_s}s",
        f"--timeout={spec.timeout_s}s",
        f"--script={LUA_SCRIPT}",
        spec.url,
    ]
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=child_environment(environment),
        timeout=spec.duration_s + WRK_GRACE_S,
        check=False,
    )
    return parse_wrk_output(completed.stdout, completed.stderr, completed.returncode)


def _script_environment(spec: LoadSpec, workdir: Path) -> dict[str, str]:
    headers_path = workdir / "headers.txt"
    headers_path.write_text(
        "".join(f"{name}: {value}\n" for name, value in spec.headers.items())
    )
    body_path = ""
    if spec.body is not None:
        body_file = workdir / "body.json"
        body_file.write_bytes(spec.body)
        body_path = str(body_file)
    return {
        "BENCH_METHOD": spec.method,
        "BENCH_BODY_FILE": body_path,
        "BENCH_HEADERS_FILE": str(headers_path),
        "BENCH_MAX_REQUESTS": str(spec.max_requests_per_thread),
        "BENCH_REQUESTS_FILE": str(spec.requests_file or ""),
    }


def parse_wrk_output(stdout: str, stderr: str, returncode: int) -> LoadResult:
    """Build a LoadResult from the BENCH_RESULT line of wrk's output."""
    for line in stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return _result_from_json(json.loads(line.removeprefix(RESULT_PREFIX)))
    raise RuntimeError(
        f"wrk exited with status {returncode} and printed no result.\n"
        f"stdout:\n{stdout}\nstderr:\n{stderr}"
    )


def _result_from_json(raw: dict[str, Any]) -> LoadResult:
    duration_s = raw["duration_us"] / 1e6
    requests = int(raw["requests"])
    latency_ms = {
        name: round(value / 1000, 4) for name, value in raw["latency_us"].items()
    }
    return LoadResult(
        requests=requests,
        duration_s=round(duration_s, 4),
        throughput_rps=round(requests / duration_s, 1) if duration_s else 0.0,
        latency_ms=latency_ms,
        errors={name: int(count) for name, count in raw["errors"].items()},
        sent=int(raw.get("sent", requests)),
    )
