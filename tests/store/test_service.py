"""The service layer on SQLite and PostgreSQL: rules, encryption, keys."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, inspect, select, text

from scimrelay.context import AppContext
from scimrelay.errors import ConfigurationError, NotFoundError, SettingsError
from scimrelay.integrations.keys import split_key
from scimrelay.integrations.service import IntegrationInput, config_version
from scimrelay.integrations.validation import Header
from scimrelay.relay.directory import Directory
from scimrelay.settings import Secret, Settings
from scimrelay.store.database import is_current
from scimrelay.store.models import ApiKey, Integration, Tenant
from tests.store.conftest import SQLITE_ONLY

TOKEN = "downstream-token-4f9a1c"
HEADER_VALUE = "origin-value-77b2"


def make_input(**changes: object) -> IntegrationInput:
    data = IntegrationInput(
        name="Braze",
        scim_url="https://braze.example.com/scim/v2/",
        token=TOKEN,
        headers=[Header("X-Request-Origin", HEADER_VALUE)],
    )
    return dataclasses.replace(data, **changes)  # type: ignore[arg-type]


def count_integrations(context: AppContext) -> int:
    with context.store.session() as session:
        return session.scalar(select(func.count()).select_from(Integration)) or 0


def test_create_integration_stores_normalised_settings(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")

    created = context.service.create_integration(tenant.id, make_input())

    view = context.service.get_integration(created.integration.id)
    assert view.scim_url == "https://braze.example.com/scim/v2"
    assert view.header_names == ["X-Request-Origin"]
    assert view.group_description == "Created via scimrelay for tenant {tenant_id}"
    assert created.notices[0].startswith("scim_url: the trailing slash was removed")
    assert view.scim_base_path == f"/scim/v2/{view.id}"


def test_token_and_header_values_are_encrypted_at_rest(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")
    created = context.service.create_integration(tenant.id, make_input())

    with context.store.session() as session:
        row = session.get(Integration, created.integration.id)
        assert row is not None
        stored = row.token_ciphertext + row.headers_ciphertext

    assert TOKEN.encode() not in stored
    assert HEADER_VALUE.encode() not in stored
    token, headers = context.service.read_secrets(created.integration.id)
    assert token == TOKEN
    assert headers == [Header("X-Request-Origin", HEADER_VALUE)]


def test_api_key_is_stored_only_as_hash(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")
    created = context.service.create_integration(tenant.id, make_input())

    with context.store.session() as session:
        key = session.get(ApiKey, created.key.key_id)
        assert key is not None

    assert key.secret_hash != created.key.plaintext
    assert key.secret_hash not in created.key.plaintext


def test_invalid_settings_store_nothing(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")
    bad = make_input(
        scim_url="ftp://x", headers=[Header("Host", "x")], group_description="{x}"
    )

    with pytest.raises(SettingsError) as raised:
        context.service.create_integration(tenant.id, bad)

    fields = [error.field for error in raised.value.errors]
    assert fields == ["scim_url", "headers[1].name", "group_description"]
    assert count_integrations(context) == 0


def test_unknown_tenant_stores_nothing(context: AppContext) -> None:
    with pytest.raises(NotFoundError, match="tenant missing not found"):
        context.service.create_integration("missing", make_input())

    assert count_integrations(context) == 0


def test_update_keeps_token_unless_given(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")
    created = context.service.create_integration(tenant.id, make_input())

    context.service.update_integration(
        created.integration.id, IntegrationInput(name="Braze EU")
    )

    view = context.service.get_integration(created.integration.id)
    token, _ = context.service.read_secrets(view.id)
    assert view.name == "Braze EU"
    assert token == TOKEN


def test_rejected_update_changes_nothing(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")
    created = context.service.create_integration(tenant.id, make_input())

    with pytest.raises(SettingsError):
        context.service.update_integration(
            created.integration.id,
            IntegrationInput(name="New name", scim_url="not a url"),
        )

    assert context.service.get_integration(created.integration.id).name == "Braze"


def test_every_change_bumps_config_version(context: AppContext) -> None:
    with context.store.session() as session:
        before = config_version(session)

    tenant = context.service.create_tenant("Acme")
    created = context.service.create_integration(tenant.id, make_input())
    context.service.rotate_key(created.integration.id)

    with context.store.session() as session:
        assert config_version(session) == before + 3


def test_rotated_key_works_until_old_key_revoked(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")
    created = context.service.create_integration(tenant.id, make_input())
    integration_id = created.integration.id
    directory = Directory(context.service)

    new_key = context.service.rotate_key(integration_id)
    directory.refresh_if_changed()
    assert directory.authenticate(integration_id, created.key.plaintext) is not None
    assert directory.authenticate(integration_id, new_key.plaintext) is not None

    context.service.revoke_key(integration_id, created.key.key_id)
    directory.refresh_if_changed()
    assert directory.authenticate(integration_id, created.key.plaintext) is None
    assert directory.authenticate(integration_id, new_key.plaintext) is not None


def test_key_of_other_integration_is_refused(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")
    first = context.service.create_integration(tenant.id, make_input())
    second = context.service.create_integration(tenant.id, make_input(name="Other"))
    directory = Directory(context.service)
    directory.refresh_if_changed()

    found = directory.authenticate(second.integration.id, first.key.plaintext)

    assert found is None


def test_deleted_integration_key_stops_working(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")
    created = context.service.create_integration(tenant.id, make_input())
    directory = Directory(context.service)
    directory.refresh_if_changed()

    context.service.delete_integration(created.integration.id)
    directory.refresh_if_changed()

    assert directory.authenticate(created.integration.id, created.key.plaintext) is None
    with pytest.raises(NotFoundError):
        context.service.get_integration(created.integration.id)


def test_deleting_tenant_removes_its_integrations(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")
    context.service.create_integration(tenant.id, make_input())

    context.service.delete_tenant(tenant.id)

    assert count_integrations(context) == 0


def test_wrong_master_key_is_refused_at_open(
    context: AppContext, settings: Settings
) -> None:
    other = dataclasses.replace(
        settings, secret_key=Secret(Fernet.generate_key().decode())
    )

    with pytest.raises(ConfigurationError, match="does not match"):
        AppContext.open(other)


def test_old_and_new_master_keys_open_store(
    context: AppContext, settings: Settings, master_key: str
) -> None:
    rotated = dataclasses.replace(
        settings, secret_key=Secret(f"{Fernet.generate_key().decode()},{master_key}")
    )

    reopened = AppContext.open(rotated)
    reopened.close()


def test_migrations_are_current_after_open(context: AppContext) -> None:
    assert is_current(context.store.engine)
    with context.store.engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version"))
        assert versions.fetchall()


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


def test_integration_list_by_tenant(context: AppContext) -> None:
    first = context.service.create_tenant("Acme")
    second = context.service.create_tenant("Globex")
    mine = context.service.create_integration(first.id, make_input()).integration
    context.service.create_integration(second.id, make_input(name="Other"))

    listed = context.service.list_integrations(first.id)

    assert [item.id for item in listed] == [mine.id]
    assert len(context.service.list_integrations()) == 2


def test_integration_delete_removes_its_keys(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")
    created = context.service.create_integration(tenant.id, make_input()).integration
    context.service.rotate_key(created.id)

    context.service.delete_integration(created.id)

    assert count(context, Integration) == 0
    assert count(context, ApiKey) == 0
    with pytest.raises(NotFoundError):
        context.service.get_integration(created.id)


def stored_text(context: AppContext) -> str:
    """Return every value of every table, as text, for searching."""
    parts = []
    with context.store.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        value = bytes(value).decode("latin-1")
                    parts.append(str(value))
    return "\n".join(parts)


def test_no_table_holds_plaintext_secret(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")
    created = context.service.create_integration(tenant.id, make_input())

    stored = stored_text(context)

    assert created.integration.id in stored
    assert TOKEN not in stored
    assert HEADER_VALUE not in stored
    key_parts = split_key(created.key.plaintext)
    assert key_parts is not None
    assert key_parts[1] not in stored


@SQLITE_ONLY
def test_sqlite_file_has_no_plaintext_token(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")
    context.service.create_integration(tenant.id, make_input())

    context.store.dispose()
    files = context.settings.data_dir.glob("scimrelay.db*")
    contents = b"".join(path.read_bytes() for path in files)

    assert b"braze.example.com" in contents
    assert TOKEN.encode() not in contents


def active_integration(context: AppContext, integration_id: str, key: str) -> bool:
    directory = Directory(context.service)
    directory.refresh_if_changed()
    return directory.authenticate(integration_id, key) is not None


def test_rotation_can_revoke_every_earlier_key(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")
    created = context.service.create_integration(tenant.id, make_input())
    integration_id = created.integration.id

    rotated = context.service.rotate_key(integration_id, revoke_previous=True)

    keys = context.service.get_integration(integration_id).keys
    assert [key.revoked_at is not None for key in keys] == [True, False]
    assert not active_integration(context, integration_id, created.key.plaintext)
    assert active_integration(context, integration_id, rotated.plaintext)


def test_rejected_integration_leaves_version(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")
    before = version(context)
    headers = [Header(f"X-Custom-{index}", "value") for index in range(6)]

    with pytest.raises(SettingsError) as raised:
        context.service.create_integration(
            tenant.id, make_input(scim_url="ftp://example.com", headers=headers)
        )

    fields = {error.field for error in raised.value.errors}
    assert fields == {"scim_url", "headers"}
    assert count(context, Integration) == 0
    assert count(context, ApiKey) == 0
    assert version(context) == before


def test_each_kind_of_change_bumps_version(context: AppContext) -> None:
    service = context.service
    versions = [version(context)]
    tenant = service.create_tenant("Acme")
    versions.append(version(context))
    created = service.create_integration(tenant.id, make_input())
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
    context.service.create_integration(tenant.id, make_input())
    before = version(context)

    context.service.list_tenants()
    context.service.list_integrations()

    assert version(context) == before


def test_transaction_stores_all_or_nothing(context: AppContext) -> None:
    service = context.service

    with pytest.raises(SettingsError), context.store.transaction():
        tenant = service.create_tenant("Acme")
        service.create_integration(tenant.id, make_input())
        service.create_integration(tenant.id, make_input(scim_url="not a url"))

    assert count(context, Tenant) == 0
    assert count(context, Integration) == 0
