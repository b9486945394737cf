"""Fixtures for the adaptation tests: strict and limited downstreams."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.conftest import ScimServer
from tests.support.adapted_downstreams import start_adapted
from tests.support.processes import ManagedProcess

AdaptedFactory = Callable[..., ManagedProcess]


@pytest.fixture(scope="module")
def adapted_factory(
    scim_server: ScimServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AdaptedFactory]:
    """Start strict or limited fronts of scim2-server; stop them at module end."""
    started: list[ManagedProcess] = []
    log_dir = tmp_path_factory.mktemp("adapted")

    def start(kind: str, *options: str) -> ManagedProcess:
        process = start_adapted(
            kind, log_dir, scim_server.url, scim_server.token, *options
        )
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def tenant_url(front: ManagedProcess, scim_server: ScimServer) -> str:
    """Return a new scim2-server tenant's base URL, reached through ``front``."""
    fresh = scim_server.new_tenant_url()
    return front.url + fresh[len(scim_server.url) :]
