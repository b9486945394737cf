"""Export and import of tenants and integrations as YAML, on both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from scimrelay.context import AppContext
from scimrelay.errors import SettingsError
from scimrelay.integrations.service import IntegrationInput, config_version
from scimrelay.integrations.validation import Header
from scimrelay.portability.document import parse_document
from scimrelay.portability.export import dump, export_document
from scimrelay.portability.importer import Importer, ImportReport, load_document

TOKEN = "braze-token-5e0c2a"
SECRET_VALUE = "header-secret-91f3"
SECRET_VARIABLE = "SCIMRELAY_BRAZE_HEADER_X_API_SECRET"
ENVIRON = {"SCIMRELAY_BRAZE_TOKEN": TOKEN, SECRET_VARIABLE: SECRET_VALUE}
HEADERS = [
    Header("X-Request-Origin", "acme"),
    Header("X-Api-Secret", SECRET_VALUE, secret=True),
]


def add_braze(context: AppContext) -> tuple[str, str]:
    tenant = context.service.create_tenant("Acme")
    created = context.service.create_integration(
        tenant.id,
        IntegrationInput(
            name="Braze",
            scim_url="https://rest.example.com/scim/v2",
            token=TOKEN,
            headers=HEADERS,
        ),
    )
    context.service.set_policy(created.integration.id, {"per_day": 5000})
    return tenant.id, created.integration.id


def apply(
    context: AppContext,
    document: dict[str, Any],
    tmp_path: Path,
    *,
    environ: dict[str, str] | None = None,
    dry_run: bool = False,
) -> ImportReport:
    path = tmp_path / "scimrelay.yaml"
    path.write_text(yaml.safe_dump(document))
    importer = Importer(
        context.service, tmp_path, ENVIRON if environ is None else environ
    )
    return importer.apply(load_document(path), dry_run=dry_run)


def version(context: AppContext) -> int:
    with context.store.session() as session:
        return config_version(session)


def integration_entry(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": "Braze",
        "scim_url": "https://rest.example.com/scim/v2",
        "token": {"env": "SCIMRELAY_BRAZE_TOKEN"},
    }
    entry.update(changes)
    return entry


def document_of(*integrations: dict[str, Any], tenant: str = "Acme") -> dict[str, Any]:
    return {
        "version": 1,
        "tenants": [{"name": tenant, "integrations": list(integrations)}],
    }


def rejected_fields(error: pytest.ExceptionInfo[SettingsError]) -> list[str]:
    return [item.field for item in error.value.errors]


def test_export_writes_references_not_secrets(context: AppContext) -> None:
    tenant_id, integration_id = add_braze(context)

    text = dump(export_document(context.service))

    assert TOKEN not in text
    assert SECRET_VALUE not in text
    integration = yaml.safe_load(text)["tenants"][0]["integrations"][0]
    assert yaml.safe_load(text)["tenants"][0]["id"] == tenant_id
    assert integration["id"] == integration_id
    assert integration["token"] == {"env": "SCIMRELAY_BRAZE_TOKEN"}
    assert integration["headers"] == [
        {"name": "X-Request-Origin", "value": "acme"},
        {"name": "X-Api-Secret", "value": {"env": SECRET_VARIABLE}, "secret": True},
    ]
    assert integration["limits"]["per_day"] == 5000


def test_export_names_variables_once_each(context: AppContext) -> None:
    tenant = context.service.create_tenant("Acme")
    for _ in range(2):
        context.service.create_integration(
            tenant.id,
            IntegrationInput(
                name="Braze", scim_url="https://rest.example.com/scim/v2", token="t0k"
            ),
        )

    document = export_document(context.service)

    tokens = [item["token"]["env"] for item in document["tenants"][0]["integrations"]]
    assert len(set(tokens)) == 2


def test_export_then_import_restores_store(context: AppContext, tmp_path: Path) -> None:
    tenant_id, integration_id = add_braze(context)
    document = export_document(context.service)
    context.service.delete_tenant(tenant_id)

    report = apply(context, document, tmp_path)

    assert [change.action for change in report.changes] == ["created", "created"]
    assert list(report.api_keys) == [integration_id]
    restored = context.service.get_integration(integration_id)
    assert restored.tenant_id == tenant_id
    assert context.service.read_secrets(integration_id) == (TOKEN, HEADERS)
    assert context.service.get_policy(integration_id).per_day == 5000


def test_second_import_changes_nothing(context: AppContext, tmp_path: Path) -> None:
    add_braze(context)
    document = export_document(context.service)
    before = version(context)

    report = apply(context, document, tmp_path)

    assert [change.action for change in report.changes] == ["unchanged", "unchanged"]
    assert report.api_keys == {}
    assert version(context) == before


def test_import_updates_only_changed_fields(
    context: AppContext, tmp_path: Path
) -> None:
    _, integration_id = add_braze(context)
    document = export_document(context.service)
    entry = document["tenants"][0]["integrations"][0]
    entry["scim_url"] = "https://rest.example.org/scim/v2/"
    environ = {**ENVIRON, "SCIMRELAY_BRAZE_TOKEN": "rotated-token"}

    report = apply(context, document, tmp_path, environ=environ)

    assert report.changes[1].action == "updated"
    assert report.changes[1].fields == ["scim_url", "token"]
    view = context.service.get_integration(integration_id)
    assert view.scim_url == "https://rest.example.org/scim/v2"
    assert context.service.read_secrets(integration_id)[0] == "rotated-token"


def test_entries_without_ids_match_by_name(context: AppContext, tmp_path: Path) -> None:
    tenant_id, integration_id = add_braze(context)
    headers = [
        {"name": "X-Request-Origin", "value": "acme"},
        {"name": "X-Api-Secret", "value": {"env": SECRET_VARIABLE}},
    ]

    report = apply(context, document_of(integration_entry(headers=headers)), tmp_path)

    assert [(change.id, change.action) for change in report.changes] == [
        (tenant_id, "unchanged"),
        (integration_id, "unchanged"),
    ]


def test_limits_state_the_whole_policy(context: AppContext, tmp_path: Path) -> None:
    _, integration_id = add_braze(context)
    context.service.set_policy(integration_id, {"per_second": 2})
    entry = integration_entry(id=integration_id, limits={"per_day": 100})

    report = apply(context, document_of(entry), tmp_path)

    policy = context.service.get_policy(integration_id)
    assert report.changes[1].fields == ["limits"]
    assert policy.per_day == 100
    assert policy.per_second == 0


def test_limit_out_of_range_names_field(context: AppContext, tmp_path: Path) -> None:
    entry = integration_entry(limits={"per_day": -1})

    with pytest.raises(SettingsError) as raised:
        apply(context, document_of(entry), tmp_path)

    assert rejected_fields(raised) == ["tenants[1].integrations[1].limits.per_day"]
    assert context.service.list_tenants() == []


def test_rejected_entries_store_nothing(context: AppContext, tmp_path: Path) -> None:
    document = document_of(
        integration_entry(),
        integration_entry(name="Bad URL", scim_url="ftp://example.com"),
        integration_entry(name="Bad template", group_description="{nope}"),
    )
    before = version(context)

    with pytest.raises(SettingsError) as raised:
        apply(context, document, tmp_path)

    assert rejected_fields(raised) == [
        "tenants[1].integrations[2].scim_url",
        "tenants[1].integrations[3].group_description",
    ]
    assert context.service.list_tenants() == []
    assert version(context) == before


def test_plaintext_token_is_rejected(context: AppContext, tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as raised:
        apply(context, document_of(integration_entry(token=TOKEN)), tmp_path)

    assert rejected_fields(raised) == ["tenants[1].integrations[1].token"]
    assert "{env: VARIABLE}" in str(raised.value)
    assert TOKEN not in str(raised.value)


def test_missing_variable_is_named(context: AppContext, tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as raised:
        apply(context, document_of(integration_entry()), tmp_path, environ={})

    assert rejected_fields(raised) == ["tenants[1].integrations[1].token"]
    assert "SCIMRELAY_BRAZE_TOKEN is not set" in str(raised.value)
    assert context.service.list_tenants() == []


def test_file_reference_is_read_beside_document(
    context: AppContext, tmp_path: Path
) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "braze.token").write_text(f"{TOKEN}\n")
    entry = integration_entry(token={"file": "secrets/braze.token"})

    report = apply(context, document_of(entry), tmp_path)

    integration_id = report.changes[1].id
    assert context.service.read_secrets(integration_id)[0] == TOKEN


def test_dry_run_stores_nothing(context: AppContext, tmp_path: Path) -> None:
    report = apply(context, document_of(integration_entry()), tmp_path, dry_run=True)

    assert report.dry_run
    assert [change.action for change in report.changes] == ["created", "created"]
    assert report.api_keys == {}
    assert context.service.list_tenants() == []


def test_integration_under_wrong_tenant_is_rejected(
    context: AppContext, tmp_path: Path
) -> None:
    _, integration_id = add_braze(context)
    entry = integration_entry(id=integration_id)

    with pytest.raises(SettingsError) as raised:
        apply(context, document_of(entry, tenant="Globex"), tmp_path)

    assert rejected_fields(raised) == ["tenants[1].integrations[1].id"]
    assert [tenant.name for tenant in context.service.list_tenants()] == ["Acme"]


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"version": 2, "tenants": []}, "version"),
        ({"version": 1, "tenants": {"name": "Acme"}}, "tenants"),
        (
            {"version": 1, "tenants": [{"name": "Acme", "owner": "x"}]},
            "tenants[1].owner",
        ),
        ({"version": 1, "tenants": [{"integrations": []}]}, "tenants[1].name"),
        (
            document_of({**integration_entry(), "force_group_description": "yes"}),
            "tenants[1].integrations[1].force_group_description",
        ),
        (
            document_of(integration_entry(token={"vault": "braze"})),
            "tenants[1].integrations[1].token",
        ),
        (
            document_of(integration_entry(headers=[{"name": "X-A", "value": 5}])),
            "tenants[1].integrations[1].headers[1].value",
        ),
        (
            document_of(
                integration_entry(
                    headers=[{"name": "X-A", "value": "plain", "secret": True}]
                )
            ),
            "tenants[1].integrations[1].headers[1].value",
        ),
        (
            document_of(integration_entry(limits={"per_day": "many"})),
            "tenants[1].integrations[1].limits.per_day",
        ),
        (
            document_of(integration_entry(limits={"speed": 1})),
            "tenants[1].integrations[1].limits.speed",
        ),
    ],
)
def test_malformed_document_names_field(document: dict[str, Any], field: str) -> None:
    with pytest.raises(SettingsError) as raised:
        parse_document(document)

    assert rejected_fields(raised) == [field]


def test_invalid_yaml_reports_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("version: 1\ntenants:\n  - name: [unclosed\n")

    with pytest.raises(SettingsError) as raised:
        load_document(path)

    assert "is not valid YAML at line" in str(raised.value)
