"""``/metrics`` behind a bearer token when ``SCIMRELAY_METRICS_TOKEN`` is set."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from scimrelay.app import create_app
from scimrelay.settings import Secret, Settings

TOKEN = f"metrics-{secrets.token_hex(12)}"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path, allow_private_downstreams=True, metrics_token=Secret(TOKEN)
    )
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        yield client


def test_metrics_without_token_is_401(client: TestClient) -> None:
    response = client.get("/metrics")

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "SCIMRELAY_METRICS_TOKEN" in response.text
    assert TOKEN not in response.text


def test_metrics_with_wrong_token_is_401(client: TestClient) -> None:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"})

    assert response.status_code == 401


def test_metrics_with_token_are_served(client: TestClient) -> None:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    assert response.status_code == 200
    assert "scimrelay_" in response.text


def test_health_checks_need_no_token(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


@pytest.mark.parametrize("scheme", ["bearer", "BEARER"])
def test_metrics_scheme_any_case_served(client: TestClient, scheme: str) -> None:
    """The authentication scheme is case-insensitive (RFC 7235 §2.1)."""
    response = client.get("/metrics", headers={"Authorization": f"{scheme} {TOKEN}"})

    assert response.status_code == 200
