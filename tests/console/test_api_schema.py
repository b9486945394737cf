"""Schemathesis sends generated requests to every admin API operation it documents.

No generated request may get a server error (5xx) from the API. The
connection test is left out: its purpose is to call the integration's
downstream, and generated integrations point at arbitrary hosts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from starlette.types import ASGIApp, Receive, Scope, Send

from scimrelay.api.openapi import document
from tests.console.conftest import World, build_world

MAX_EXAMPLES = 25


@pytest.fixture(scope="module")
def schema_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from build_world(tmp_path_factory.mktemp("schema"))


@pytest.fixture(scope="module")
def owner_headers(schema_world: World) -> dict[str, str]:
    return {"Authorization": f"Bearer {schema_world.token(schema_world.owner)}"}


def without_lifespan(app: ASGIApp) -> ASGIApp:
    """Complete lifespan events here, because the relay's own lifespan already runs."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return

    return wrapped


@pytest.fixture(scope="module")
def api_schema(schema_world: World) -> Any:
    app = without_lifespan(schema_world.app)
    loaded = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    return loaded.exclude(path_regex=r"/test$")


def operation_labels() -> list[str]:
    loaded = schemathesis.openapi.from_dict(document()).exclude(path_regex=r"/test$")
    return [result.ok().label for result in loaded.get_all_operations()]


@pytest.mark.parametrize("label", operation_labels())
def test_generated_requests_cause_no_server_error(
    api_schema: Any, owner_headers: dict[str, str], label: str
) -> None:
    operation = api_schema[label.split(" ", 1)[1]][label.split(" ", 1)[0]]
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @given(case=cases)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def answers_without_server_error(case: Any) -> None:
        case.call_and_validate(headers=owner_headers, checks=[not_a_server_error])

    answers_without_server_error()


def test_openapi_document_names_every_operation(schema_world: World) -> None:
    client = schema_world.api(None)
    document = client.get("/api/v1/openapi.json").json()

    operations = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert ("POST", "/integrations/{integration_id}/rotate-key") in operations
    assert ("GET", "/logs/export") in operations
    assert ("POST", "/tokens") in operations
    assert ("PUT", "/integrations/{integration_id}/google-source") in operations
    assert ("POST", "/integrations/{integration_id}/sync/preview") in operations
    assert ("GET", "/integrations/{integration_id}/sync/runs/{run_id}") in operations
    assert len(operations) == 26
