"""Each downstream fault, the relay's answer to it, and that nothing is lost.

One integration points at the root of the fault downstream; the first path
segment of each request picks the fault. Its breaker is set out of reach so
that the faults of one test do not open it for the next.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import RelayFactory
from tests.resilience.conftest import (
    DOWNSTREAM_TOKEN,
    assert_scim_error,
    fault_stats,
)
from tests.support.processes import ManagedProcess
from tests.support.relay import Relay

ANSWERED: dict[str, int] = {}


@pytest.fixture(scope="module")
def relay(relay_factory: RelayFactory, faults: ManagedProcess) -> Relay:
    relay = relay_factory(
        faults.url,
        DOWNSTREAM_TOKEN,
        env={"SCIMRELAY_MAX_RESPONSE_BYTES": str(1024 * 1024)},
    )
    relay.cli.json(
        "integration",
        "limits",
        str(relay.integration["id"]),
        "--breaker-failures",
        "10000",
        "--total-timeout",
        "2",
        "--read-timeout",
        "2",
        "--connect-timeout",
        "1",
    )
    return relay


@pytest.fixture
def client(relay: Relay) -> Iterator[httpx.Client]:
    with relay.client() as client:
        yield client


def call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """Send a request, remember its id and status for the log check."""
    response = client.request(method, path, **kwargs)
    ANSWERED[response.headers["x-request-id"]] = response.status_code
    assert DOWNSTREAM_TOKEN not in response.text
    return response


def test_slow_downstream_gets_504_within_the_deadline(client: httpx.Client) -> None:
    response = call(client, "GET", "/slow/Users")

    assert "did not answer in time" in assert_scim_error(response, 504)["detail"]


def test_connection_dropped_mid_body_is_502_and_get_is_retried(
    client: httpx.Client, faults: ManagedProcess
) -> None:
    before = fault_stats(faults).get("drop GET", 0)

    response = call(client, "GET", "/drop/Users")

    assert_scim_error(response, 502)
    assert fault_stats(faults)["drop GET"] - before == 3


def test_connection_dropped_after_post_is_not_repeated(
    client: httpx.Client, faults: ManagedProcess
) -> None:
    before = fault_stats(faults).get("drop POST", 0)

    response = call(client, "POST", "/drop/Users", json={"userName": "once"})

    assert_scim_error(response, 502)
    assert fault_stats(faults)["drop POST"] - before == 1


def test_garbage_instead_of_http_is_502(client: httpx.Client) -> None:
    assert_scim_error(call(client, "GET", "/garbage/Users"), 502)


def test_garbage_body_labelled_json_is_502(client: httpx.Client) -> None:
    document = assert_scim_error(call(client, "GET", "/garbagebody/Users"), 502)

    assert "instead of SCIM JSON" in document["detail"]


def test_body_over_the_response_limit_is_502(client: httpx.Client) -> None:
    document = assert_scim_error(call(client, "GET", "/huge/Users"), 502)

    assert "larger than the relay's limit of 1048576 bytes" in document["detail"]


def test_declared_body_over_the_limit_is_refused_unread(client: httpx.Client) -> None:
    document = assert_scim_error(call(client, "GET", "/bigdeclared/Users"), 502)

    assert "larger than the relay's limit" in document["detail"]


def test_html_page_with_200_is_502_naming_it(client: httpx.Client) -> None:
    document = assert_scim_error(call(client, "GET", "/html/Users"), 502)

    assert "text/html" in document["detail"]


def test_429_reaches_the_provider_with_retry_after_and_no_retry(
    client: httpx.Client, faults: ManagedProcess
) -> None:
    before = fault_stats(faults).get("ratelimited GET", 0)

    response = call(client, "GET", "/ratelimited/Users")

    assert_scim_error(response, 429)
    assert response.headers["retry-after"] == "17"
    assert fault_stats(faults)["ratelimited GET"] - before == 1


def test_503_with_a_long_retry_after_is_passed_on_not_waited(
    client: httpx.Client, faults: ManagedProcess
) -> None:
    before = fault_stats(faults).get("unavailable GET", 0)

    response = call(client, "GET", "/unavailable/Users")

    assert_scim_error(response, 503)
    assert response.headers["retry-after"] == "120"
    assert fault_stats(faults)["unavailable GET"] - before == 1


def test_invalid_header_bytes_are_dropped_not_relayed(client: httpx.Client) -> None:
    response = call(client, "GET", "/badheader/Users")

    assert response.status_code == 200
    assert "etag" not in response.headers
    assert "location" not in response.headers
    assert "retry-after" not in response.headers
    assert response.json()["totalResults"] == 0


def test_nul_byte_in_a_header_is_502(client: httpx.Client) -> None:
    assert_scim_error(call(client, "GET", "/ctlheader/Users"), 502)


def test_invalid_status_code_is_502(client: httpx.Client) -> None:
    assert_scim_error(call(client, "GET", "/badstatus/Users"), 502)


def test_json_of_the_wrong_type_is_502(client: httpx.Client) -> None:
    assert_scim_error(call(client, "GET", "/wrongtype/Users"), 502)


def test_redirect_is_passed_on_never_followed(
    client: httpx.Client, faults: ManagedProcess
) -> None:
    response = call(client, "GET", "/redirect/Users")

    assert response.status_code == 302
    assert response.headers["location"].startswith("http://169.254.169.254/")
    assert fault_stats(faults)["redirect GET"] == 1


def test_get_succeeds_after_two_503s_by_retrying(
    client: httpx.Client, faults: ManagedProcess
) -> None:
    response = call(client, "GET", "/failtwice/Users/a")

    assert response.status_code == 200
    assert fault_stats(faults)["failtwice GET"] == 3


def test_post_answered_503_is_not_retried(
    client: httpx.Client, faults: ManagedProcess
) -> None:
    response = call(client, "POST", "/failtwice/Users", json={"userName": "x"})

    assert_scim_error(response, 503)
    assert fault_stats(faults)["failtwice POST"] == 1


def test_every_fault_answer_is_in_the_request_log(relay: Relay) -> None:
    assert len(ANSWERED) >= 15

    entries = relay.wait_for_logs(
        lambda found: ANSWERED.keys() <= {entry["request_id"] for entry in found}
    )

    logged = {entry["request_id"]: entry["status"] for entry in entries}
    assert {key: logged.get(key) for key in ANSWERED} == ANSWERED
    assert all("Traceback" not in (entry["error"] or "") for entry in entries)
    assert "Traceback" not in relay.output()
    assert DOWNSTREAM_TOKEN not in relay.output()
