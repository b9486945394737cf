"""A PATCH adding tens of thousands of members to a group, through the relay.

The relay's peak resident memory during the request, less its memory before
it, is compared with the size of the body. The relay splits a membership
change into PATCH requests of `max_members_per_patch` members (1,000 by
default), so the downstream's access log shows what it was sent.
"""

from __future__ import annotations

import json
import statistics
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from bench import fixtures, nginx
from bench.cpu import cores_during
from bench.memory import MB, peak_rss
from bench.process import open_url
from bench.relay import launch_relay
from bench.targets import RunContext

PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
# A first, smaller PATCH that loads the split path's code before measuring.
WARMUP_MEMBERS = 2_000
REPEATS = 3
MAX_GROWTH_RATIO = 4.0
REQUEST_TIMEOUT_S = 300.0


def patch_body(members: int) -> bytes:
    """Return a PatchOp body adding `members` user ids to a group."""
    values = [{"value": str(uuid.UUID(int=number + 1))} for number in range(members)]
    operation = {"op": "add", "path": "members", "value": values}
    body = {"schemas": [PATCH_SCHEMA], "Operations": [operation]}
    return json.dumps(body, separators=(",", ":")).encode()


def run(context: RunContext, members: int) -> dict[str, Any]:
    """Send the PATCH REPEATS times to a fresh relay and record its memory."""
    relay = launch_relay(context, "relay-members", 1)
    assert relay.target.pid is not None
    url = f"{relay.target.scim_base_url}/Groups/{fixtures.GROUP_ID}"
    headers = {
        **relay.target.headers,
        "Content-Type": "application/scim+json",
        "Accept": "application/scim+json",
    }
    access_log = context.workdir / "downstream" / nginx.MEMBERS_LOG
    _send(url, headers, patch_body(WARMUP_MEMBERS))

    body = patch_body(members)
    repeats = []
    for _ in range(REPEATS):
        seen = _log_lines(access_log)
        sessions = {"target": relay.target.pid}
        with cores_during(sessions) as cores, peak_rss(relay.target.pid) as reading:
            status, seconds = _send(url, headers, body)
        downstream = _log_lines(access_log)[len(seen) :]
        repeats.append(
            {
                "status": status,
                "seconds": round(seconds, 3),
                "rss_before_bytes": reading.before_bytes,
                "rss_peak_bytes": reading.peak_bytes,
                "growth_bytes": reading.growth_bytes,
                "downstream_requests": len(downstream),
                "downstream_statuses": sorted({line[1] for line in downstream}),
                "downstream_largest_bytes": max(
                    (int(line[2]) for line in downstream), default=0
                ),
                "cpu_cores": cores,
            }
        )
    return {
        "members": members,
        "body_bytes": len(body),
        "peak_method": reading.method,
        "repeats": repeats,
    }


def growth_ratio(result: dict[str, Any]) -> float:
    """Return the largest peak RSS growth over the repeats, per byte of body."""
    largest = max(repeat["growth_bytes"] for repeat in result["repeats"])
    return float(largest / result["body_bytes"])


def other_cores(result: dict[str, Any]) -> float:
    """Return the median cores other processes used during the requests."""
    return float(
        statistics.median(
            repeat.get("cpu_cores", {}).get("other", 0.0)
            for repeat in result["repeats"]
        )
    )


def describe(result: dict[str, Any]) -> tuple[str, bool, list[tuple[str, str]]]:
    """Return the headline figure, whether it met the goal, and detail rows."""
    ratio = growth_ratio(result)
    repeats = result["repeats"]
    failed = [repeat["status"] for repeat in repeats if repeat["status"] >= 300]
    first = repeats[0]
    details = [
        (
            "body",
            f"{result['members']:,} members, {result['body_bytes'] / MB:.2f} MB",
        ),
        (
            "peak RSS growth per repeat",
            ", ".join(f"{r['growth_bytes'] / MB:.1f} MB" for r in repeats)
            + f" ({result['peak_method']})",
        ),
        (
            "relay RSS before",
            f"{first['rss_before_bytes'] / MB:.1f} MB",
        ),
        ("answer", ", ".join(str(repeat["status"]) for repeat in repeats)),
        ("duration per repeat", ", ".join(f"{r['seconds']:.2f} s" for r in repeats)),
        (
            "sent downstream per PATCH",
            f"{first['downstream_requests']} PATCH requests of at most "
            f"{first['downstream_largest_bytes'] / 1000:.0f} kB each, answered "
            f"{', '.join(first['downstream_statuses']) or 'nothing'}",
        ),
    ]
    measured = f"{ratio:.1f}x the body"
    return measured, ratio < MAX_GROWTH_RATIO and not failed, details


def _send(url: str, headers: dict[str, str], body: bytes) -> tuple[int, float]:
    request = urllib.request.Request(url, data=body, headers=headers, method="PATCH")
    started = time.perf_counter()
    status, _headers, answer = open_url(request, REQUEST_TIMEOUT_S)
    seconds = time.perf_counter() - started
    if status >= 300:
        print(
            f"  members: PATCH returned status {status}: {answer[:300]!r}", flush=True
        )
    return status, seconds


def _log_lines(path: Path) -> list[list[str]]:
    """Return the downstream's group PATCH log: method, status, request bytes."""
    if not path.exists():
        return []
    return [line.split() for line in path.read_text().splitlines() if line]
