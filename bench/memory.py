"""Resident memory and CPU time of single processes, read from /proc.

The peak of a request is read from the kernel's high-water mark (VmHWM),
which `clear_refs` resets (Linux 4.0 and later, owner or root). Where the
reset is refused, a thread samples VmRSS instead, which can miss a peak
shorter than its interval.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.cpu import CLOCK_TICKS_PER_S

MB = 1_000_000
# Interval of the fallback sampler, in seconds.
SAMPLE_INTERVAL_S = 0.005


def status_bytes(pid: int, field: str) -> int:
    """Return a size field of /proc/PID/status, such as VmRSS, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0]) * 1024
    raise KeyError(f"/proc/{pid}/status has no {field}")


def rss_bytes(pid: int) -> int:
    return status_bytes(pid, "VmRSS")


def reset_peak(pid: int) -> bool:
    """Reset the high-water mark of `pid` to its current RSS; False if refused."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@dataclass
class PeakReading:
    """Resident memory of one process before an action and at its peak."""

    before_bytes: int = 0
    peak_bytes: int = 0
    method: str = ""

    @property
    def growth_bytes(self) -> int:
        return max(0, self.peak_bytes - self.before_bytes)


@contextmanager
def peak_rss(pid: int) -> Iterator[PeakReading]:
    """Measure the peak RSS of `pid` while the block runs."""
    reading = PeakReading(before_bytes=rss_bytes(pid))
    exact = reset_peak(pid)
    reading.method = "VmHWM" if exact else f"VmRSS every {SAMPLE_INTERVAL_S}s"
    stop = threading.Event()
    sampled = [reading.before_bytes]

    def sample() -> None:
        while not stop.wait(SAMPLE_INTERVAL_S):
            sampled.append(rss_bytes(pid))

    sampler = None if exact else threading.Thread(target=sample, daemon=True)
    if sampler is not None:
        sampler.start()
    try:
        yield reading
    finally:
        stop.set()
        if sampler is not None:
            sampler.join()
        sampled.append(rss_bytes(pid))
        if exact:
            sampled.append(status_bytes(pid, "VmHWM"))
        reading.peak_bytes = max(sampled)


def session_pids(session_id: int) -> list[int]:
    """Return the live processes of a session, lowest pid first."""
    found = []
    for stat_path in Path("/proc").glob("[0-9]*/stat"):
        fields = _stat_fields(stat_path)
        if fields is not None and int(fields[3]) == session_id:
            found.append(int(stat_path.parent.name))
    return sorted(found)


def process_cpu_seconds(pid: int) -> float:
    """Return the user plus system CPU time of one process, 0 if it has ended."""
    fields = _stat_fields(Path(f"/proc/{pid}/stat"))
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS_PER_S


def parent_pid(pid: int) -> int:
    fields = _stat_fields(Path(f"/proc/{pid}/stat"))
    return int(fields[1]) if fields else 0


def _stat_fields(stat_path: Path) -> list[str] | None:
    """Return the fields after the command name, the state first."""
    try:
        text = stat_path.read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


class RssSampler:
    """Sample the RSS of one process every `interval_s` in a thread."""

    def __init__(self, pid: int, interval_s: float) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._record()

    def _run(self) -> None:
        self._record()
        while not self._stop.wait(self.interval_s):
            self._record()

    def _record(self) -> None:
        try:
            rss = rss_bytes(self.pid)
        except (OSError, KeyError):
            return
        self.samples.append((round(time.monotonic() - self._started, 2), rss))
