"""The service layer on SQLite and PostgreSQL: tenants, integrations, keys."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import inspect, select, text

from scimrelay.context import AppContext
from scimrelay.errors import NotFoundError, SettingsError
from scimrelay.integrations.keys import split_key
from scimrelay.integrations.service import IntegrationInput, config_version
from scimrelay.integrations.validation import Header
from scimrelay.relay.directory import Directory
from scimrelay.store.models import ApiKey, Integration, Tenant

TOKEN = "downstream-token-7f3a9c1e5b"
ORIGIN = "origin-value-4d2b8e6f"


def braze(**changes: Any) -> IntegrationInput:
    data = IntegrationInput(
        name="Braze production",
        scim_url="https://rest.example.com/scim/v2/",
        token=TOKEN,
        headers=[Header("X-Request-Origin", ORIGIN)],
    )
    for name, value in changes.items():
        setattr(data, name, value)
    return data


def count(context: AppContext, model: type[Any]) -> int:
    with context.store.session() as session:
        return len(session.scalars(select(model)).all())


def version(context: AppContext) -> int:
    with context.store.session() as session:
        return config_version(session)


def test_tenant_create_list_rename_delete(context: AppContext) -> None:
    service = context.service
    created = service.create_tenant("  Acme  ")
    service.rename_tenant(created.id, "Acme Corp")

    listed = service.list_tenants()
    assert [(tenant.id, tenant.name) for tenant in listed] == [
        (created.id, "Acme Corp")
    ]

    service.delete_tenant(created.id)
    assert service.list_tenants() == []


def test_tenant_created_under_given_id(context: AppContext) -> None:
    wanted = str(uuid.uuid4())

    created = context.service.create_tenant("Acme", tenant_id=wanted.upper())

    assert created.id == wanted


def test_tenant_with_invalid_id_is_rejected(context: AppContext) -> None:
    with pytest.raises(SettingsError) as raised:
        context.service.create_tenant("Acme", tenant_id="tenant-1")

    assert [error.field for error in raised.value.errors] == ["id"]
    assert count(context, Tenant) == 0


def test_integration_create_normalises_url(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")

    created = context.service.create_integration(tenant.id, braze())

    assert created.integration.scim_url == "https://rest.example.com/scim/v2"
    assert created.integration.header_names == ["X-Request-Origin"]
    assert any("trailing slash" in notice for notice in created.notices)
    assert context.service.read_secrets(created.integration.id) == (
        TOKEN,
        [Header("X-Request-Origin", ORIGIN)],
    )


def test_integration_update_changes_given_fields(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")
    created = context.service.create_integration(tenant.id, braze()).integration

    updated, _ = context.service.update_integration(
        created.id, IntegrationInput(name="Braze staging", token="new-token-123")
    )

    assert updated.name == "Braze staging"
    assert updated.scim_url == created.scim_url
    assert updated.updated_at > created.updated_at
    assert context.service.read_secrets(created.id)[0] == "new-token-123"


def test_integration_list_by_tenant(context: AppContext) -> None:
    first = context.service.create_tenant("Acme")
    second = context.service.create_tenant("Globex")
    mine = context.service.create_integration(first.id, braze()).integration
    context.service.create_integration(second.id, braze(name="Other"))

    listed = context.service.list_integrations(first.id)

    assert [item.id for item in listed] == [mine.id]
    assert len(context.service.list_integrations()) == 2


def test_integration_delete_removes_its_keys(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")
    created = context.service.create_integration(tenant.id, braze()).integration
    context.service.rotate_key(created.id)

    context.service.delete_integration(created.id)

    assert count(context, Integration) == 0
    assert count(context, ApiKey) == 0
    with pytest.raises(NotFoundError):
        context.service.get_integration(created.id)


def test_tenant_delete_removes_integrations(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")
    context.service.create_integration(tenant.id, braze())

    context.service.delete_tenant(tenant.id)

    assert count(context, Integration) == 0


def stored_text(context: AppContext) -> str:
    """Return every value of every table, as text, for searching."""
    parts = []
    with context.store.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                for value in row:
                    raw = (
                        bytes(value) if isinstance(value, bytes | memoryview) else None
                    )
                    parts.append(raw.decode("latin-1") if raw else str(value))
    return "\n".join(parts)


def test_secrets_are_encrypted_at_rest(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")
    created = context.service.create_integration(tenant.id, braze())

    stored = stored_text(context)

    assert created.integration.id in stored
    assert TOKEN not in stored
    assert ORIGIN not in stored
    key_parts = split_key(created.key.plaintext)
    assert key_parts is not None
    assert key_parts[1] not in stored


@pytest.mark.parametrize("backend", ["sqlite"])
def test_sqlite_file_has_no_plaintext_token(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")
    context.service.create_integration(tenant.id, braze())

    context.store.dispose()
    files = context.settings.data_dir.glob("scimrelay.db*")
    contents = b"".join(path.read_bytes() for path in files)

    assert b"Braze production" in contents
    assert TOKEN.encode() not in contents


def active_integration(context: AppContext, integration_id: str, key: str) -> bool:
    directory = Directory(context.service)
    directory.refresh_if_changed()
    return directory.authenticate(integration_id, key) is not None


def test_rotated_key_works_beside_the_old_one(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")
    created = context.service.create_integration(tenant.id, braze())
    integration_id = created.integration.id

    rotated = context.service.rotate_key(integration_id)

    assert active_integration(context, integration_id, created.key.plaintext)
    assert active_integration(context, integration_id, rotated.plaintext)


def test_revoked_key_stops_working(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")
    created = context.service.create_integration(tenant.id, braze())
    integration_id = created.integration.id
    rotated = context.service.rotate_key(integration_id)

    context.service.revoke_key(integration_id, created.key.key_id)

    assert not active_integration(context, integration_id, created.key.plaintext)
    assert active_integration(context, integration_id, rotated.plaintext)


def test_rotation_can_revoke_every_earlier_key(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")
    created = context.service.create_integration(tenant.id, braze())
    integration_id = created.integration.id

    rotated = context.service.rotate_key(integration_id, revoke_previous=True)

    keys = context.service.get_integration(integration_id).keys
    assert [key.revoked_at is not None for key in keys] == [True, False]
    assert not active_integration(context, integration_id, created.key.plaintext)
    assert active_integration(context, integration_id, rotated.plaintext)


def test_key_of_another_integration_is_rejected(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")
    first = context.service.create_integration(tenant.id, braze())
    second = context.service.create_integration(tenant.id, braze(name="Other"))

    assert not active_integration(context, second.integration.id, first.key.plaintext)


def test_invalid_integration_stores_nothing(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")
    before = version(context)
    headers = [Header(f"X-Custom-{index}", "value") for index in range(6)]

    with pytest.raises(SettingsError) as raised:
        context.service.create_integration(
            tenant.id, braze(scim_url="ftp://example.com", headers=headers)
        )

    fields = {error.field for error in raised.value.errors}
    assert fields == {"scim_url", "headers"}
    assert count(context, Integration) == 0
    assert count(context, ApiKey) == 0
    assert version(context) == before


def test_rejected_update_leaves_integration_unchanged(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")
    created = context.service.create_integration(tenant.id, braze()).integration

    with pytest.raises(SettingsError):
        context.service.update_integration(
            created.id,
            IntegrationInput(name="Renamed", group_description="{unknown}"),
        )

    assert context.service.get_integration(created.id).name == created.name


def test_integration_for_missing_tenant_stores_nothing(context: AppContext) -> None:
    with pytest.raises(NotFoundError):
        context.service.create_integration(str(uuid.uuid4()), braze())

    assert count(context, Integration) == 0


def test_every_change_bumps_config_version(context: AppContext) -> None:
    service = context.service
    versions = [version(context)]
    tenant = service.create_tenant("Acme")
    versions.append(version(context))
    created = service.create_integration(tenant.id, braze())
    versions.append(version(context))
    service.update_integration(created.integration.id, IntegrationInput(name="New"))
    versions.append(version(context))
    service.rotate_key(created.integration.id)
    versions.append(version(context))
    service.revoke_key(created.integration.id, created.key.key_id)
    versions.append(version(context))
    service.delete_integration(created.integration.id)
    versions.append(version(context))

    assert versions == list(range(versions[0], versions[0] + 7))


def test_reads_leave_config_version_alone(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")
    context.service.create_integration(tenant.id, braze())
    before = version(context)

    context.service.list_tenants()
    context.service.list_integrations()

    assert version(context) == before


def test_transaction_stores_all_or_nothing(context: AppContext) -> None:
    service = context.service

    with pytest.raises(SettingsError), context.store.transaction():
        tenant = service.create_tenant("Acme")
        service.create_integration(tenant.id, braze())
        service.create_integration(tenant.id, braze(scim_url="not a url"))

    assert count(context, Tenant) == 0
    assert count(context, Integration) == 0
