"""CPU time of the servers, of wrk and of the whole machine, from /proc.

Each server runs in its own session (see process.start_process), so a
session's CPU time covers a server and all its worker processes. Comparing
the sum with the machine's busy time shows how much CPU something else used
during a run, which makes its numbers unreliable.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def session_cpu_seconds(session_id: int) -> float:
    """Return the user plus system CPU time of live processes in a session."""
    total_ticks = 0
    for stat_path in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat_path.read_text()
        except OSError:
            continue
        # The command name in parentheses may contain spaces, so the fields
        # are counted from the last closing parenthesis.
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[3]) == session_id:
            total_ticks += int(fields[11]) + int(fields[12])
    return total_ticks / CLOCK_TICKS_PER_S


def machine_busy_seconds() -> float:
    """Return the CPU time all cores have spent outside idle and iowait."""
    # First line of /proc/stat: "cpu user nice system idle iowait irq ...".
    values = [int(value) for value in Path("/proc/stat").read_text().split()[1:9]]
    return (sum(values) - values[3] - values[4]) / CLOCK_TICKS_PER_S


def children_cpu_seconds() -> float:
    """Return the CPU time of this process's waited-for children, such as wrk."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class CpuSnapshot:
    """Cumulative CPU seconds at one instant, per named session and in total."""

    at: float
    sessions: Mapping[str, float]
    wrk: float
    machine: float


def take_snapshot(session_ids: Mapping[str, int]) -> CpuSnapshot:
    """Read the CPU time of each named session, of wrk and of the machine."""
    return CpuSnapshot(
        at=time.monotonic(),
        sessions={name: session_cpu_seconds(pid) for name, pid in session_ids.items()},
        wrk=children_cpu_seconds(),
        machine=machine_busy_seconds(),
    )


def cores_used(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
    """Return the average number of cores each part used between two snapshots.

    `other` is the machine's busy time not accounted for by the named
    sessions or wrk. Part of the kernel's loopback network processing lands
    there, so a small positive value is normal.
    """
    elapsed = after.at - before.at
    if elapsed <= 0:
        return {}
    used = {
        name: (after.sessions[name] - before.sessions[name]) / elapsed
        for name in after.sessions
    }
    used["wrk"] = (after.wrk - before.wrk) / elapsed
    machine = (after.machine - before.machine) / elapsed
    used["other"] = machine - sum(used.values())
    return {name: round(value, 3) for name, value in used.items()}


def own_cpu_seconds() -> float:
    """Return the CPU time of this process, such as a client run in the harness."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def cores_during(session_ids: Mapping[str, int]) -> Iterator[dict[str, float]]:
    """Fill the yielded dict with the cores each part used during the block.

    The parts are the named sessions, wrk, this process as `client` and
    `other`, which here excludes the client's CPU time.
    """
    used: dict[str, float] = {}
    before = take_snapshot(session_ids)
    own_before = own_cpu_seconds()
    yield used
    after = take_snapshot(session_ids)
    elapsed = after.at - before.at
    used.update(cores_used(before, after))
    if elapsed > 0 and used:
        client = (own_cpu_seconds() - own_before) / elapsed
        used["client"] = round(client, 3)
        used["other"] = round(used["other"] - client, 3)
