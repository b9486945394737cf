"""POST .search and list queries on any announced resource type, adapted.

Each case runs against a limited front of scim2-server and shows the
adaptation needed: called directly, the front returns a wrong result.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from tests.adapt.conftest import AdaptedFactory, tenant_url
from tests.conftest import RelayFactory, ScimServer
from tests.support.processes import ManagedProcess
from tests.support.relay import Relay

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@pytest.fixture(scope="module")
def relay(relay_factory: RelayFactory) -> Relay:
    return relay_factory()


class Front:
    """A limited front with one fresh scim2-server tenant behind the relay."""

    def __init__(
        self, relay: Relay, process: ManagedProcess, scim_server: ScimServer
    ) -> None:
        self.relay = relay
        self.url = tenant_url(process, scim_server)
        self.token = scim_server.token
        self.integration = relay.create_integration(self.url, self.token)

    def direct(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.Client(base_url=self.url, headers=headers, trust_env=False)

    def relayed(self) -> httpx.Client:
        return self.relay.client(integration=self.integration)

    def applied(self, response: httpx.Response) -> list[str]:
        entry = self.relay.log_entry(response.headers["X-Request-ID"])
        return list(entry["applied_rules"] or [])


@pytest.fixture(scope="module")
def front(
    relay: Relay, adapted_factory: AdaptedFactory, scim_server: ScimServer
) -> Any:
    started: dict[tuple[str, ...], ManagedProcess] = {}

    def make(*options: str) -> Front:
        if options not in started:
            started[options] = adapted_factory("limited", *options)
        return Front(relay, started[options], scim_server)

    return make


def add_users(client: httpx.Client, prefix: str, count: int) -> list[str]:
    names = []
    for number in range(count):
        name = f"{prefix}-{number}"
        body = {"schemas": [USER], "userName": name}
        response = client.post("/Users", json=body)
        assert response.status_code == 201, response.text
        names.append(name)
    return names


def search(**parameters: Any) -> dict[str, Any]:
    return {"schemas": [SEARCH], **parameters}


def user_names(response: httpx.Response) -> list[str]:
    return [resource["userName"] for resource in response.json()["Resources"]]


def test_search_filtered_in_relay(front: Any) -> None:
    downstream = front("--no-filter")
    prefix = f"sf-{secrets.token_hex(3)}"
    body = search(filter=f'userName eq "{prefix}-1"')
    with downstream.relayed() as client:
        add_users(client, prefix, 3)
        response = client.post("/Users/.search", json=body)
    with downstream.direct() as direct:
        unfiltered = direct.post("/Users/.search", json=body)

    assert unfiltered.json()["totalResults"] == 3
    assert response.status_code == 200, response.text
    assert user_names(response) == [f"{prefix}-1"]
    assert response.json()["totalResults"] == 1
    assert "filtered-in-relay" in downstream.applied(response)


def test_search_falls_back_to_get(front: Any) -> None:
    downstream = front("--no-search")
    prefix = f"sg-{secrets.token_hex(3)}"
    pages = []
    with downstream.relayed() as client:
        names = add_users(client, prefix, 3)
        for start in (1, 2, 3):
            body = search(filter=f'userName sw "{prefix}"', startIndex=start, count=1)
            pages.append(client.post("/Users/.search", json=body))
    with downstream.direct() as direct:
        refused = direct.post("/Users/.search", json=search())

    assert refused.status_code == 404
    assert [page.status_code for page in pages] == [200, 200, 200]
    assert [page.json()["totalResults"] for page in pages] == [3, 3, 3]
    assert [page.json()["startIndex"] for page in pages] == [1, 2, 3]
    found = [name for page in pages for name in user_names(page)]
    assert sorted(found) == names
    assert "search-as-get" in downstream.applied(pages[1])


def test_search_pages_filled_past_cap(front: Any) -> None:
    downstream = front("--max-results", "2")
    prefix = f"sc-{secrets.token_hex(3)}"
    body = search(filter=f'userName sw "{prefix}"', count=5)
    with downstream.relayed() as client:
        add_users(client, prefix, 5)
        response = client.post("/Users/.search", json=body)
    with downstream.direct() as direct:
        capped = direct.post("/Users/.search", json=body)

    assert len(capped.json()["Resources"]) == 2
    assert response.status_code == 200, response.text
    assert sorted(user_names(response)) == [f"{prefix}-{n}" for n in range(5)]
    assert response.json()["itemsPerPage"] == 5
    assert "paging-filled" in downstream.applied(response)


def test_search_walks_cursor_only_downstream(front: Any) -> None:
    downstream = front("--cursor-only", "--max-results", "2")
    prefix = f"su-{secrets.token_hex(3)}"
    body = search(filter=f'userName sw "{prefix}"', startIndex=2, count=3)
    with downstream.relayed() as client:
        add_users(client, prefix, 5)
        response = client.post("/Users/.search", json=body)

    assert response.status_code == 200, response.text
    assert response.json()["startIndex"] == 2
    assert len(user_names(response)) == 3
    assert response.json()["totalResults"] == 5
    assert "cursor-paging" in downstream.applied(response)


def test_search_404_becomes_empty_list(front: Any) -> None:
    downstream = front("--list-404")
    body = search(filter='userName eq "nobody-here"')
    with downstream.direct() as direct:
        refused = direct.post("/Users/.search", json=body)
    with downstream.relayed() as client:
        response = client.post("/Users/.search", json=body)

    assert refused.status_code == 404
    assert response.status_code == 200, response.text
    assert response.json()["totalResults"] == 0
    assert response.json()["Resources"] == []
    assert "list-404-as-empty" in downstream.applied(response)


def test_search_unparsable_filter_rejected(front: Any) -> None:
    downstream = front()
    with downstream.relayed() as client:
        response = client.post("/Users/.search", json=search(filter="userName eq"))

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"
    assert "userName eq" in response.json()["detail"]


@pytest.mark.parametrize("count", ["many", True])
def test_search_wrong_count_type_rejected(front: Any, count: object) -> None:
    downstream = front()
    with downstream.relayed() as client:
        response = client.post("/Users/.search", json=search(count=count))

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    assert "count" in response.json()["detail"]


def test_root_search_walks_types(front: Any) -> None:
    downstream = front("--no-search")
    prefix = f"sr-{secrets.token_hex(3)}"
    with downstream.relayed() as client:
        add_users(client, prefix, 2)
        group = {"schemas": [GROUP], "displayName": f"{prefix}-group"}
        assert client.post("/Groups", json=group).status_code == 201
        expression = f'userName sw "{prefix}" or displayName eq "{prefix}-group"'
        response = client.post("/.search", json=search(filter=expression))

    assert response.status_code == 200, response.text
    assert response.json()["totalResults"] == 3
    kinds = sorted(r["meta"]["resourceType"] for r in response.json()["Resources"])
    assert kinds == ["Group", "User", "User"]
    assert "searched-in-relay" in downstream.applied(response)


def test_root_search_passes_through(front: Any) -> None:
    downstream = front()
    prefix = f"sp-{secrets.token_hex(3)}"
    body = search(filter=f'userName eq "{prefix}-0"')
    with downstream.relayed() as client:
        add_users(client, prefix, 1)
        response = client.post("/.search", json=body)

    assert response.status_code == 200, response.text
    assert user_names(response) == [f"{prefix}-0"]
    assert "searched-in-relay" not in downstream.applied(response)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_rejected_filter_attribute_filtered_here(front: Any, method: str) -> None:
    downstream = front("--filter-attributes", "userName")
    prefix = f"sa-{secrets.token_hex(3)}"
    expression = f'displayName eq "{prefix} one"'
    with downstream.relayed() as client:
        for label in ("one", "two"):
            body = {
                "schemas": [USER],
                "userName": f"{prefix}-{label}",
                "displayName": f"{prefix} {label}",
            }
            assert client.post("/Users", json=body).status_code == 201
        if method == "GET":
            response = client.get("/Users", params={"filter": expression})
        else:
            response = client.post("/Users/.search", json=search(filter=expression))
    with downstream.direct() as direct:
        refused = direct.get("/Users", params={"filter": expression})

    assert refused.status_code == 400
    assert response.status_code == 200, response.text
    assert user_names(response) == [f"{prefix}-one"]
    assert "filtered-in-relay" in downstream.applied(response)


def test_announced_type_is_filtered_in_relay(front: Any) -> None:
    downstream = front("--no-filter", "--devices")
    prefix = f"dv-{secrets.token_hex(3)}"
    expression = f'userName eq "{prefix}-2"'
    with downstream.relayed() as client:
        add_users(client, prefix, 3)
        response = client.get("/Devices", params={"filter": expression})
        searched = client.post("/Devices/.search", json=search(filter=expression))
    with downstream.direct() as direct:
        unfiltered = direct.get("/Devices", params={"filter": expression})

    assert unfiltered.json()["totalResults"] == 3
    assert response.status_code == 200, response.text
    assert user_names(response) == [f"{prefix}-2"]
    assert "filtered-in-relay" in downstream.applied(response)
    assert user_names(searched) == [f"{prefix}-2"]


def test_announced_type_404_becomes_empty_list(front: Any) -> None:
    downstream = front("--list-404", "--devices")
    params = {"filter": 'userName eq "no-such-device"'}
    with downstream.relayed() as client:
        response = client.get("/Devices", params=params)
        unknown = client.get("/Widgets", params=params)

    assert response.status_code == 200, response.text
    assert response.json()["totalResults"] == 0
    assert "list-404-as-empty" in downstream.applied(response)
    assert unknown.status_code == 404
    assert "list-404-as-empty" not in downstream.applied(unknown)
