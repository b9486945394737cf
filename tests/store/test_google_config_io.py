"""Google sources in ``export`` and ``import`` documents, on both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from scimrelay.context import AppContext
from scimrelay.errors import SettingsError
from scimrelay.portability.export import dump, export_document
from scimrelay.sync.service import GoogleSourceInput, SourceService
from tests.store.test_config_io import ENVIRON, add_braze, apply
from tests.support.google import ServiceAccount, make_service_account

KEY_VARIABLE = "SCIMRELAY_BRAZE_GOOGLE_KEY"
TOKEN_URI = "https://oauth2.googleapis.com/token"


@pytest.fixture(scope="module")
def account() -> ServiceAccount:
    return make_service_account("scimrelay-export")


def sources(context: AppContext) -> SourceService:
    return SourceService(context.store, context.keyring)


def add_source(context: AppContext, integration_id: str, key_json: str) -> None:
    sources(context).set_google(
        integration_id,
        GoogleSourceInput(
            subject="admin@example.com",
            customer="my_customer",
            key_json=key_json,
            org_units=["/Sales"],
            group_patterns=["eng-*@example.com"],
            interval_minutes=30,
            mapping={"title": "organizations.title"},
        ),
    )


def environ(account: ServiceAccount) -> dict[str, str]:
    return {**ENVIRON, KEY_VARIABLE: account.key_json(TOKEN_URI)}


def source_entry(document: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = document["tenants"][0]["integrations"][0]["google_source"]
    return entry


def test_export_writes_key_reference(
    context: AppContext, account: ServiceAccount
) -> None:
    _, integration_id = add_braze(context)
    add_source(context, integration_id, account.key_json(TOKEN_URI))

    text = dump(export_document(context.service))

    assert "PRIVATE KEY" not in text
    assert account.private_key_id not in text
    entry = source_entry(yaml.safe_load(text))
    assert entry["key"] == {"env": KEY_VARIABLE}
    assert entry["subject"] == "admin@example.com"
    assert entry["customer"] == "my_customer"
    assert "domain" not in entry
    assert entry["org_units"] == ["/Sales"]
    assert entry["interval_minutes"] == 30
    assert entry["mapping"] == {"title": "organizations.title"}


def test_round_trip_restores_source(
    context: AppContext, account: ServiceAccount, tmp_path: Path
) -> None:
    tenant_id, integration_id = add_braze(context)
    add_source(context, integration_id, account.key_json(TOKEN_URI))
    before = sources(context).get_google(integration_id).to_dict()
    document = export_document(context.service)
    context.service.delete_tenant(tenant_id)

    report = apply(context, document, tmp_path, environ=environ(account))

    kinds = [(change.kind, change.action) for change in report.changes]
    assert kinds == [
        ("tenant", "created"),
        ("integration", "created"),
        ("google_source", "created"),
    ]
    after = sources(context).get_google(integration_id).to_dict()
    for moment in ("created_at", "updated_at"):
        del before[moment], after[moment]
    assert after == before
    key = sources(context).config(integration_id).key_info
    assert key == orjson.loads(account.key_json(TOKEN_URI))


def test_second_import_leaves_source_alone(
    context: AppContext, account: ServiceAccount, tmp_path: Path
) -> None:
    _, integration_id = add_braze(context)
    add_source(context, integration_id, account.key_json(TOKEN_URI))
    document = export_document(context.service)
    before = sources(context).get_google(integration_id).updated_at

    report = apply(context, document, tmp_path, environ=environ(account))

    assert [change.action for change in report.changes] == ["unchanged"] * 3
    assert sources(context).get_google(integration_id).updated_at == before


def test_import_names_changed_source_fields(
    context: AppContext, account: ServiceAccount, tmp_path: Path
) -> None:
    _, integration_id = add_braze(context)
    add_source(context, integration_id, account.key_json(TOKEN_URI))
    document = export_document(context.service)
    source_entry(document)["interval_minutes"] = 0
    source_entry(document)["org_units"] = ["/Sales/"]
    rotated = make_service_account("scimrelay-rotated")
    (tmp_path / "google-key.json").write_text(rotated.key_json(TOKEN_URI))
    source_entry(document)["key"] = {"file": "google-key.json"}

    report = apply(context, document, tmp_path, environ=environ(account))

    change = report.changes[2]
    assert (change.kind, change.action) == ("google_source", "updated")
    assert change.fields == ["interval_minutes", "key"]
    view = sources(context).get_google(integration_id)
    assert view.key_id == rotated.private_key_id
    assert view.org_units == ["/Sales"]


def test_dry_run_reports_source_stores_nothing(
    context: AppContext, account: ServiceAccount, tmp_path: Path
) -> None:
    _, integration_id = add_braze(context)
    add_source(context, integration_id, account.key_json(TOKEN_URI))
    document = export_document(context.service)
    sources(context).remove_google(integration_id)

    report = apply(context, document, tmp_path, environ=environ(account), dry_run=True)

    assert report.dry_run
    assert (report.changes[2].kind, report.changes[2].action) == (
        "google_source",
        "created",
    )
    assert sources(context).differences(integration_id, _any_input()) is None


def test_invalid_source_rejects_whole_document(
    context: AppContext, account: ServiceAccount, tmp_path: Path
) -> None:
    _, integration_id = add_braze(context)
    document = export_document(context.service)
    integration = document["tenants"][0]["integrations"][0]
    integration["scim_url"] = "https://rest.example.org/scim/v2"
    integration["google_source"] = {
        "key": {"env": KEY_VARIABLE},
        "subject": "not an email",
        "domain": "example.com",
        "customer": "my_customer",
    }
    broken = {**environ(account), KEY_VARIABLE: '{"type": "user"}'}

    with pytest.raises(SettingsError) as error:
        apply(context, document, tmp_path, environ=broken)

    prefix = "tenants[1].integrations[1].google_source."
    fields = {item.field for item in error.value.errors}
    assert fields == {prefix + "key", prefix + "subject", prefix + "customer"}
    view = context.service.get_integration(integration_id)
    assert view.scim_url == "https://rest.example.com/scim/v2"
    assert sources(context).differences(integration_id, _any_input()) is None


def test_secret_reference_required_for_key(
    context: AppContext, account: ServiceAccount, tmp_path: Path
) -> None:
    add_braze(context)
    document = export_document(context.service)
    document["tenants"][0]["integrations"][0]["google_source"] = {
        "key": account.key_json(TOKEN_URI),
        "subject": "admin@example.com",
        "customer": "my_customer",
        "interval_minutes": "hourly",
    }

    with pytest.raises(SettingsError) as error:
        apply(context, document, tmp_path, environ=environ(account))

    prefix = "tenants[1].integrations[1].google_source."
    messages = {item.field: item.message for item in error.value.errors}
    assert set(messages) == {prefix + "key", prefix + "interval_minutes"}
    assert "reference" in messages[prefix + "key"]
    assert "PRIVATE KEY" not in str(error.value)


def _any_input() -> GoogleSourceInput:
    return GoogleSourceInput(subject="admin@example.com", customer="my_customer")
