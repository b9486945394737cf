"""Capability adaptations against a limited downstream, each shown needed."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from tests.adapt.conftest import AdaptedFactory, tenant_url
from tests.conftest import RelayFactory, ScimServer
from tests.support.relay import Relay

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


@pytest.fixture(scope="module")
def relay(relay_factory: RelayFactory) -> Relay:
    return relay_factory()


class Limited:
    """A limited front with one scim2-server tenant, direct and through the relay."""

    def __init__(self, relay: Relay, url: str, token: str, *options: str) -> None:
        self.relay = relay
        self.url = url
        self.token = token
        self.integration = relay.create_integration(url, token, options=list(options))

    def direct(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.Client(base_url=self.url, headers=headers, trust_env=False)

    def relayed(self) -> httpx.Client:
        return self.relay.client(integration=self.integration)


@pytest.fixture(scope="module")
def limited(
    relay: Relay, adapted_factory: AdaptedFactory, scim_server: ScimServer
) -> Any:
    fronts: dict[tuple[str, ...], Any] = {}

    def make(*front_options: str, relay_options: tuple[str, ...] = ()) -> Limited:
        if front_options not in fronts:
            fronts[front_options] = adapted_factory("limited", *front_options)
        front = fronts[front_options]
        url = tenant_url(front, scim_server)
        return Limited(relay, url, scim_server.token, *relay_options)

    return make


def add_users(client: httpx.Client, count: int, prefix: str = "user") -> list[str]:
    ids = []
    for number in range(count):
        body = {
            "schemas": [USER],
            "userName": f"{prefix}-{number}-{secrets.token_hex(3)}",
        }
        response = client.post("/Users", json=body)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def test_patch_is_emulated_with_get_and_put(limited: Any) -> None:
    downstream = limited("--no-patch")
    body = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": "title", "value": "Dr"}],
    }
    with downstream.direct() as direct:
        user_id = add_users(direct, 1)[0]
        refused = direct.patch(f"/Users/{user_id}", json=body)
    with downstream.relayed() as client:
        response = client.patch(f"/Users/{user_id}", json=body)
        stored = client.get(f"/Users/{user_id}").json()

    assert refused.status_code == 501
    assert response.status_code == 200, response.text
    assert stored["title"] == "Dr"
    entry = downstream.relay.log_entry(response.headers["X-Request-ID"])
    assert "patch-emulated" in entry["applied_rules"]


def test_patch_emulation_removes_one_member_by_filter(limited: Any) -> None:
    downstream = limited("--no-patch")
    with downstream.relayed() as client:
        users = add_users(client, 3)
        group = client.post(
            "/Groups",
            json={
                "schemas": [GROUP],
                "displayName": "g",
                "members": [{"value": u} for u in users],
            },
        ).json()
        body = {
            "schemas": [PATCH],
            "Operations": [{"op": "remove", "path": f'members[value eq "{users[1]}"]'}],
        }
        response = client.patch(f"/Groups/{group['id']}", json=body)

    assert response.status_code == 200, response.text
    assert sorted(m["value"] for m in response.json()["members"]) == sorted(
        [users[0], users[2]]
    )


def test_filter_is_evaluated_in_relay_when_downstream_cannot(limited: Any) -> None:
    downstream = limited("--no-filter")
    with downstream.direct() as direct:
        add_users(direct, 3, prefix="alpha")
        add_users(direct, 2, prefix="beta")
        unfiltered = direct.get("/Users", params={"filter": 'userName sw "beta"'})
    with downstream.relayed() as client:
        response = client.get("/Users", params={"filter": 'USERNAME SW "BETA"'})

    assert unfiltered.json()["totalResults"] == 5
    assert response.status_code == 200
    assert response.json()["totalResults"] == 2
    assert all(r["userName"].startswith("beta") for r in response.json()["Resources"])


def test_unparsable_filter_is_invalid_filter(limited: Any) -> None:
    downstream = limited("--no-filter")
    with downstream.relayed() as client:
        response = client.get("/Users", params={"filter": 'userName eq "x" and'})

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"


def test_capped_page_size_is_filled_from_further_pages(limited: Any) -> None:
    downstream = limited("--max-results", "2")
    with downstream.direct() as direct:
        add_users(direct, 5)
        capped = direct.get("/Users", params={"startIndex": 1, "count": 5})
    with downstream.relayed() as client:
        response = client.get("/Users", params={"startIndex": 1, "count": 5})

    assert len(capped.json()["Resources"]) == 2
    assert response.json()["itemsPerPage"] == 5
    assert len({r["id"] for r in response.json()["Resources"]}) == 5


def test_ignored_paging_is_sliced_in_relay(limited: Any) -> None:
    downstream = limited("--ignore-paging")
    with downstream.direct() as direct:
        add_users(direct, 5)
        everything = direct.get("/Users", params={"startIndex": 2, "count": 2}).json()
    with downstream.relayed() as client:
        page = client.get("/Users", params={"startIndex": 2, "count": 2}).json()

    assert len(everything["Resources"]) == 5
    assert page["startIndex"] == 2
    assert page["itemsPerPage"] == 2
    assert [r["id"] for r in page["Resources"]] == [
        r["id"] for r in everything["Resources"][1:3]
    ]


def test_index_paging_is_translated_to_cursors(limited: Any) -> None:
    downstream = limited("--cursor-only", "--max-results", "2")
    with downstream.direct() as direct:
        ids = add_users(direct, 5)
        refused = direct.get("/Users", params={"startIndex": 1, "count": 2})
    with downstream.relayed() as client:
        pages = [
            client.get("/Users", params={"startIndex": start, "count": 2}).json()
            for start in (1, 3, 5)
        ]

    assert refused.status_code == 400
    seen = [r["id"] for page in pages for r in page["Resources"]]
    assert sorted(seen) == sorted(ids)
    assert [page["startIndex"] for page in pages] == [1, 3, 5]
    assert pages[0]["totalResults"] == 5


def test_list_404_becomes_empty_list(limited: Any) -> None:
    downstream = limited("--list-404")
    query = {"filter": 'userName eq "nobody"'}
    with downstream.direct() as direct:
        missing = direct.get("/Users", params=query)
    with downstream.relayed() as client:
        response = client.get("/Users", params=query)

    assert missing.status_code == 404
    assert response.status_code == 200
    assert response.json()["totalResults"] == 0
    assert response.json()["Resources"] == []


def test_bulk_is_emulated_with_bulk_id_references(limited: Any) -> None:
    downstream = limited("--no-bulk")
    body = {
        "schemas": [BULK],
        "Operations": [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "u1",
                "data": {"schemas": [USER], "userName": f"b-{secrets.token_hex(3)}"},
            },
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g1",
                "data": {
                    "schemas": [GROUP],
                    "displayName": "bulk",
                    "members": [{"value": "bulkId:u1"}],
                },
            },
        ],
    }
    with downstream.direct() as direct:
        refused = direct.post("/Bulk", json=body)
    with downstream.relayed() as client:
        response = client.post("/Bulk", json=body)
        group_path = response.json()["Operations"][1]["location"].split("/v2/")[-1]
        group = client.get(group_path.split(downstream.integration["id"])[-1]).json()

    assert refused.status_code == 501
    assert response.status_code == 200
    statuses = [op["status"] for op in response.json()["Operations"]]
    assert statuses == ["201", "201"]
    assert (
        group["members"][0]["value"]
        == response.json()["Operations"][0]["location"].rsplit("/", 1)[1]
    )


def test_bulk_stops_after_fail_on_errors(limited: Any) -> None:
    downstream = limited("--no-bulk")
    bad = {"method": "POST", "path": "/Users", "data": {"schemas": [USER]}}
    good = {
        "method": "POST",
        "path": "/Users",
        "data": {"schemas": [USER], "userName": f"c-{secrets.token_hex(3)}"},
    }
    body = {"schemas": [BULK], "failOnErrors": 1, "Operations": [bad, good]}
    with downstream.relayed() as client:
        response = client.post("/Bulk", json=body)

    operations = response.json()["Operations"]
    assert len(operations) == 1
    assert operations[0]["status"] == "400"


def test_bulk_over_max_operations_is_too_many(limited: Any) -> None:
    downstream = limited("--no-bulk")
    operation = {"method": "DELETE", "path": "/Users/none"}
    body = {"schemas": [BULK], "Operations": [operation] * 1001}
    with downstream.relayed() as client:
        response = client.post("/Bulk", json=body)

    assert response.status_code == 413
    assert response.json()["scimType"] == "tooMany"
    entry = downstream.relay.log_entry(response.headers["X-Request-ID"])
    assert entry["downstream_status"] is None


@pytest.mark.parametrize(
    "endpoint", ["ServiceProviderConfig", "Schemas", "ResourceTypes"]
)
def test_missing_discovery_endpoint_is_made_by_relay(
    limited: Any, endpoint: str
) -> None:
    downstream = limited("--no-discovery")
    with downstream.direct() as direct:
        missing = direct.get(f"/{endpoint}")
    with downstream.relayed() as client:
        response = client.get(f"/{endpoint}")

    assert missing.status_code == 404
    assert "html" in missing.headers["content-type"]
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/scim+json")
    assert response.json()["schemas"]


def test_config_of_downstream_without_patch_announces_relay_patch(limited: Any) -> None:
    downstream = limited("--no-patch", "--no-bulk")
    with downstream.relayed() as client:
        config = client.get("/ServiceProviderConfig").json()

    assert config["patch"]["supported"] is True
    assert config["bulk"]["supported"] is True


def test_large_member_change_is_split(limited: Any) -> None:
    downstream = limited(relay_options=("--max-members-per-patch", "2"))
    with downstream.relayed() as client:
        users = add_users(client, 5)
        group = client.post(
            "/Groups", json={"schemas": [GROUP], "displayName": "big"}
        ).json()
        body = {
            "schemas": [PATCH],
            "Operations": [
                {"op": "add", "path": "members", "value": [{"value": u} for u in users]}
            ],
        }
        response = client.patch(f"/Groups/{group['id']}", json=body)
        stored = client.get(f"/Groups/{group['id']}").json()

    assert response.status_code in (200, 204)
    assert sorted(m["value"] for m in stored["members"]) == sorted(users)
    entry = downstream.relay.log_entry(response.headers["X-Request-ID"])
    assert "members-split" in entry["applied_rules"]


def test_refresh_capabilities_reads_the_downstream(limited: Any) -> None:
    downstream = limited("--no-patch", "--no-filter")
    found = downstream.relay.cli.json(
        "integration", "refresh-capabilities", downstream.integration["id"]
    )

    assert found["patch"] is False
    assert found["filter"] is False
    assert found["has_schemas"] is True
