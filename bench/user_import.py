"""A provider's import of every user, paged through the relay.

An nginx downstream serves `GET /Users` from prepared pages of at most
DOWNSTREAM_PAGE users, whatever `count` requests, like a server with a capped
page size. A client requests PROVIDER_COUNT users a page from the relay, as
identity providers do, so the relay fills each page with a second
downstream request. The client checks that every user arrives exactly once.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from bench import nginx
from bench.cpu import cores_during
from bench.fixtures import USER_SCHEMA
from bench.memory import MB, peak_rss
from bench.process import LOOPBACK, free_port, open_url
from bench.relay import launch_relay
from bench.targets import RunContext

LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
DOWNSTREAM_PAGE = 50
PROVIDER_COUNT = 100
MAX_GROWTH_MB = 100.0
PAGE_TIMEOUT_S = 60.0


def user_id(number: int) -> str:
    return str(uuid.UUID(int=number))


def write_pages(pages_dir: Path, users: int, base_url: str) -> None:
    """Write `pages_dir/N.json` for N = 1, 1 + DOWNSTREAM_PAGE, ... up to `users`."""
    pages_dir.mkdir(parents=True, exist_ok=True)
    for start in range(1, users + 1, DOWNSTREAM_PAGE):
        numbers = range(start, min(start + DOWNSTREAM_PAGE, users + 1))
        page = {
            "schemas": [LIST_SCHEMA],
            "totalResults": users,
            "startIndex": start,
            "itemsPerPage": len(numbers),
            "Resources": [_user(number, base_url) for number in numbers],
        }
        (pages_dir / f"{start}.json").write_text(json.dumps(page))


def _user(number: int, base_url: str) -> dict[str, Any]:
    identifier = user_id(number)
    return {
        "schemas": [USER_SCHEMA],
        "id": identifier,
        "externalId": f"00u{number:017d}",
        "userName": f"user{number}@example.com",
        "name": {"givenName": "Import", "familyName": f"User {number}"},
        "emails": [
            {"value": f"user{number}@example.com", "type": "work", "primary": True}
        ],
        "active": True,
        "meta": {
            "resourceType": "User",
            "location": f"{base_url}/Users/{identifier}",
        },
    }


def start_pages_downstream(context: RunContext, users: int) -> str:
    """Prepare the pages, serve them with nginx and return the SCIM base URL."""
    port = free_port()
    base_url = f"http://{LOOPBACK}:{port}/scim/v2"
    workdir = context.workdir / "pages-downstream"
    # nginx's workers run as an unprivileged user, who cannot enter the run's
    # private folder, so the pages (public test data) get a folder of their own.
    pages_dir = Path(tempfile.mkdtemp(prefix="scimrelay-bench-pages-"))
    pages_dir.chmod(0o755)
    context.stack.callback(shutil.rmtree, pages_dir, True)
    print(f"Writing {users:,} users in pages of {DOWNSTREAM_PAGE}", flush=True)
    write_pages(pages_dir, users, base_url)
    config = nginx.pages_config(port, workdir, pages_dir)
    nginx.start_nginx(
        context.stack, "pages-downstream", config, port, workdir, context.log_dir
    )
    return base_url


def run(context: RunContext, users: int) -> dict[str, Any]:
    """Page through `users` users at PROVIDER_COUNT a page and record the relay."""
    scim_url = start_pages_downstream(context, users)
    relay = launch_relay(context, "relay-import", 1, scim_url=scim_url)
    assert relay.target.pid is not None
    base = relay.target.scim_base_url
    headers = {**relay.target.headers, "Accept": "application/scim+json"}
    _page(base, headers, 1)

    received: Counter[str] = Counter()
    pages = 0
    totals = set()
    started = time.perf_counter()
    sessions = {"target": relay.target.pid}
    with cores_during(sessions) as cores, peak_rss(relay.target.pid) as reading:
        index = 1
        while True:
            document = _page(base, headers, index)
            resources = document.get("Resources") or []
            pages += 1
            totals.add(document.get("totalResults"))
            received.update(str(resource.get("id")) for resource in resources)
            index += len(resources)
            if not resources or index > int(document.get("totalResults") or 0):
                break
    seconds = time.perf_counter() - started
    expected = {user_id(number) for number in range(1, users + 1)}
    return {
        "users": users,
        "downstream_page": DOWNSTREAM_PAGE,
        "provider_count": PROVIDER_COUNT,
        "pages": pages,
        "seconds": round(seconds, 2),
        "received": sum(received.values()),
        "distinct": len(received),
        "duplicates": sum(count - 1 for count in received.values() if count > 1),
        "missing": len(expected - received.keys()),
        "unexpected": len(received.keys() - expected),
        "totals": sorted(str(total) for total in totals),
        "rss_before_bytes": reading.before_bytes,
        "rss_peak_bytes": reading.peak_bytes,
        "growth_bytes": reading.growth_bytes,
        "peak_method": reading.method,
        "cpu_cores": cores,
    }


def _page(base: str, headers: dict[str, str], index: int) -> dict[str, Any]:
    url = f"{base}/Users?startIndex={index}&count={PROVIDER_COUNT}"
    request = urllib.request.Request(url, headers=headers)
    status, _headers, body = open_url(request, PAGE_TIMEOUT_S)
    if status != 200:
        raise RuntimeError(f"GET {url} returned status {status}: {body[:300]!r}")
    document = json.loads(body)
    if not isinstance(document, dict):
        raise RuntimeError(
            f"GET {url} returned a JSON {type(document).__name__}, expected an object"
        )
    return document


def other_cores(result: dict[str, Any]) -> float:
    """Return the cores other processes used during the import."""
    return float(result.get("cpu_cores", {}).get("other", 0.0))


def describe(result: dict[str, Any]) -> tuple[str, bool, list[tuple[str, str]]]:
    """Return the headline figure, whether it met the goals, and detail rows."""
    growth_mb = result["growth_bytes"] / MB
    complete = (
        result["distinct"] == result["users"]
        and result["duplicates"] == 0
        and result["unexpected"] == 0
    )
    rate = result["users"] / result["seconds"] if result["seconds"] else 0.0
    details = [
        (
            "paging",
            f"{result['pages']:,} pages of {result['provider_count']} from the "
            f"relay, downstream pages capped at {result['downstream_page']}",
        ),
        ("duration", f"{result['seconds']:.1f} s ({rate:,.0f} users/s)"),
        (
            "users received",
            f"{result['received']:,} ({result['distinct']:,} distinct, "
            f"{result['duplicates']} duplicates, {result['missing']} missing)",
        ),
        (
            "relay RSS",
            f"{result['rss_before_bytes'] / MB:.1f} MB before, peak "
            f"{result['rss_peak_bytes'] / MB:.1f} MB ({result['peak_method']})",
        ),
    ]
    measured = (
        f"{growth_mb:.1f} MB, {result['seconds']:.1f} s, "
        f"{'each user once' if complete else 'users missing or repeated'}"
    )
    return measured, complete and growth_mb < MAX_GROWTH_MB, details
