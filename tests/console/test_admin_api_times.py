"""Times in admin API responses include the UTC offset on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from tests.console.conftest import UNUSED_DOWNSTREAM, World, build_world
from tests.support.postgres import temporary_database

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def store_world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    if request.param == "sqlite":
        yield from build_world(tmp_path)
        return

    with temporary_database() as url:
        # PostgreSQL returns times in the session's time zone, here not UTC.
        database = make_url(url).database
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(
                text(f"ALTER DATABASE \"{database}\" SET timezone = 'Asia/Kolkata'")
            )
        engine.dispose()
        yield from build_world(tmp_path, url)


def offset(stamp: str) -> timedelta | None:
    return datetime.fromisoformat(stamp).utcoffset()


def test_listed_times_have_utc_offset(store_world: World) -> None:
    client = store_world.api(store_world.owner)
    tenant = client.post("/api/v1/tenants", json={"name": "Offsets"}).json()
    body = {
        "tenant_id": tenant["id"],
        "name": "Offsets",
        "scim_url": UNUSED_DOWNSTREAM,
        "token": "downstream-token",
    }
    created = client.post("/api/v1/integrations", json=body).json()

    tenants = client.get("/api/v1/tenants").json()
    integrations = client.get("/api/v1/integrations").json()
    integration = client.get(f"/api/v1/integrations/{created['id']}").json()

    stamps = [item["created_at"] for item in tenants]
    for item in [*integrations, integration]:
        stamps += [item["created_at"], item["updated_at"]]
        stamps += [key["created_at"] for key in item["keys"]]
    assert len(stamps) >= 6
    assert {offset(stamp) for stamp in stamps} == {timedelta(0)}
