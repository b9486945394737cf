"""One request per target and scenario before any load, to catch broken setups.

A proxy that drops the injected headers gets 401 or 400 from the downstream.
One that skips URL rewriting returns the downstream's locations. Without the
check, both would show up only as odd numbers in the results.
"""

from __future__ import annotations

import json
import urllib.request

from bench import fixtures
from bench.process import open_url
from bench.scenarios import Scenario
from bench.targets import Target


def check_target(target: Target, scenario: Scenario) -> list[str]:
    """Send `scenario` once to `target` and return the problems found."""
    url = target.scim_base_url + scenario.resource_path
    request = urllib.request.Request(
        url,
        data=scenario.body,
        headers={**scenario.headers, **target.headers},
        method=scenario.method,
    )
    status, headers, body = open_url(request)
    prefix = f"{target.name} {scenario.method} {url}"
    if status != scenario.expected_status:
        detail = body[:300].decode(errors="replace")
        return [
            f"{prefix}: status {status}, expected {scenario.expected_status}: {detail}"
        ]
    return [
        f"{prefix}: {problem}"
        for problem in _resource_problems(target, headers, body, scenario)
    ]


def _resource_problems(
    target: Target, headers: dict[str, str], body: bytes, scenario: Scenario
) -> list[str]:
    try:
        resource = json.loads(body)
    except json.JSONDecodeError:
        return [f"body is not JSON: {body[:200]!r}"]
    expected_location = fixtures.user_location(target.location_base_url)
    problems = []
    if resource.get("id") != fixtures.USER_ID:
        problems.append(f"id is {resource.get('id')!r}, expected {fixtures.USER_ID}")
    location = resource.get("meta", {}).get("location")
    if location != expected_location:
        problems.append(f"meta.location is {location!r}, expected {expected_location}")
    if scenario.method == "POST":
        header = _header(headers, "Location")
        if header != expected_location:
            problems.append(f"Location is {header!r}, expected {expected_location}")
    return problems


def _header(headers: dict[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None
