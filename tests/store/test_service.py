"""The service layer on SQLite and PostgreSQL: rules, encryption, keys."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select, text

from scimrelay.context import AppContext
from scimrelay.errors import ConfigurationError, NotFoundError, SettingsError
from scimrelay.integrations.service import IntegrationInput, config_version
from scimrelay.integrations.validation import Header
from scimrelay.relay.directory import Directory
from scimrelay.settings import Secret, Settings
from scimrelay.store.database import is_current
from scimrelay.store.models import ApiKey, Integration

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
