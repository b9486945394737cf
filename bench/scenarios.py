"""Request scenarios: what a wrk run sends, relative to a target's SCIM base URL."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench import fixtures

SCIM_CONTENT_TYPE = "application/scim+json"


@dataclass(frozen=True)
class Scenario:
    """One request shape at one concurrency level.

    `resource_path` is appended to a target's SCIM base URL, so the same
    scenario applies to the downstream itself and to every proxy in front of it.
    """

    name: str
    label: str
    method: str
    resource_path: str
    concurrency: int
    expected_status: int
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # wrk threads. One thread drives every connection, which leaves the
    # second core of a two-core machine to the servers under test.
    threads: int = 1

    @property
    def key(self) -> str:
        return f"{self.name}-c{self.concurrency}"

    @property
    def title(self) -> str:
        return f"{self.label}, c={self.concurrency}"


def _get_user(concurrency: int) -> Scenario:
    return Scenario(
        name="get",
        label="GET /Users/{id}",
        method="GET",
        resource_path=f"/Users/{fixtures.USER_ID}",
        concurrency=concurrency,
        expected_status=200,
        headers={"Accept": SCIM_CONTENT_TYPE},
    )


def _post_user(concurrency: int) -> Scenario:
    return Scenario(
        name="post",
        label="POST /Users",
        method="POST",
        resource_path="/Users",
        concurrency=concurrency,
        expected_status=201,
        body=fixtures.to_json(fixtures.new_user()).encode(),
        headers={"Accept": SCIM_CONTENT_TYPE, "Content-Type": SCIM_CONTENT_TYPE},
    )


DEFAULT_CONCURRENCY = (1, 32)
SCENARIO_BUILDERS = {"get": _get_user, "post": _post_user}


def all_scenarios() -> list[Scenario]:
    """Return every scenario at every default concurrency level."""
    return [
        build(concurrency)
        for build in SCENARIO_BUILDERS.values()
        for concurrency in DEFAULT_CONCURRENCY
    ]


def select_scenarios(spec: str) -> list[Scenario]:
    """Select scenarios from a comma-separated list of names or keys.

    `get` selects GET at every default concurrency; `get-c32` only at 32.
    Any `NAME-cN` is accepted, so `post-c8` runs POST at concurrency 8.
    """
    selected: list[Scenario] = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        selected.extend(_scenarios_for(item))
    if not selected:
        raise ValueError(f"no scenarios selected by {spec!r}")
    return selected


def _scenarios_for(item: str) -> list[Scenario]:
    name, _, concurrency = item.partition("-c")
    build = SCENARIO_BUILDERS.get(name)
    if build is None:
        known = ", ".join(SCENARIO_BUILDERS)
        raise ValueError(f"unknown scenario {item!r}; known scenarios: {known}")
    if not concurrency:
        return [build(level) for level in DEFAULT_CONCURRENCY]
    if not concurrency.isdigit() or int(concurrency) < 1:
        raise ValueError(f"invalid concurrency in {item!r}; use NAME-cN, N >= 1")
    return [build(int(concurrency))]
