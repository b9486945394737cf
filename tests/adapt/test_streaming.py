"""A 100,000-user list read through the relay, page by page, in bounded memory.

The downstream caps its pages at 500 users. One client pages with count=1000,
which the relay fills from two downstream pages; another requests count=10000,
above the relay's own cap of 1000, and stitches the pages it gets. The relay's
peak resident memory growth is measured from /proc and printed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import RelayFactory
from tests.support.large_downstream import start_large, user_name
from tests.support.processes import ManagedProcess
from tests.support.relay import Relay

USERS = 100_000
DOWNSTREAM_PAGE = 500
RELAY_PAGE = 1000
MEMORY_BOUND_MB = 100


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    process = start_large(tmp_path_factory.mktemp("large"), USERS, DOWNSTREAM_PAGE)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def relay(relay_factory: RelayFactory, large: ManagedProcess) -> Relay:
    return relay_factory(large.url + "/scim/v2", "large-downstream-token")


def process_tree(pid: int) -> list[int]:
    """Return ``pid`` and every process below it."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in children:
            found.extend(process_tree(int(child)))
    return found


def memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"/proc/{pid}/status has no {field}")


def reset_peaks(pids: list[int]) -> dict[int, int]:
    """Reset each process's peak RSS (clear_refs 5) and return its current RSS."""
    for pid in pids:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    return {pid: memory_kib(pid, "VmRSS") for pid in pids}


def read_every_page(
    client: httpx.Client, count: int
) -> tuple[list[str], set[int], set[int]]:
    """Page through /Users from the start; return userNames, totals, page sizes."""
    names: list[str] = []
    totals: set[int] = set()
    sizes: set[int] = set()
    start = 1
    while True:
        response = client.get("/Users", params={"startIndex": start, "count": count})
        assert response.status_code == 200, response.text[:300]
        document = response.json()
        totals.add(document["totalResults"])
        page = [resource["userName"] for resource in document["Resources"]]
        assert document["itemsPerPage"] == len(page)
        if not page:
            break
        sizes.add(len(page))
        names.extend(page)
        start += len(page)
        if start > document["totalResults"]:
            break
    return names, totals, sizes


@pytest.mark.parametrize("count", [1000, 10_000])
def test_large_list_streams_in_bounded_memory(
    relay: Relay, count: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert relay.process is not None
    pids = process_tree(relay.process.pid)
    before = reset_peaks(pids)
    with relay.client() as client:
        names, totals, sizes = read_every_page(client, count)
    growth_kib = max(memory_kib(pid, "VmHWM") - before[pid] for pid in pids)
    growth_mb = growth_kib / 1024
    with capsys.disabled():
        print(
            f"\ncount={count}: {len(names)} users; relay peak RSS growth "
            f"{growth_mb:.1f} MB (bound {MEMORY_BOUND_MB} MB)"
        )

    assert len(names) == USERS
    assert names == [user_name(number) for number in range(1, USERS + 1)]
    assert totals == {USERS}
    assert sizes == {RELAY_PAGE}
    assert growth_mb < MEMORY_BOUND_MB
