"""Profiles, rules, provider auth and adaptation settings in export and import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from scimrelay.cli.main import main
from scimrelay.context import AppContext
from scimrelay.errors import SettingsError
from scimrelay.integrations.service import IntegrationInput
from scimrelay.portability.document import parse_document
from scimrelay.portability.export import export_document
from tests.store.test_config_io import (
    add_braze,
    apply,
    document_of,
    integration_entry,
    rejected_fields,
    version,
)

ENTRY = "tenants[1].integrations[1]"
POLICY = {
    "per_second": 2.5,
    "per_day": 5000,
    "connect_timeout": 3.0,
    "read_timeout": 15.0,
    "total_timeout": 40.0,
    "max_attempts": 2,
    "breaker_failures": 7,
    "breaker_cooldown": 45.0,
}


def add_entra(context: AppContext) -> tuple[str, str]:
    """Add an integration with every profile, adaptation and limit setting set."""
    tenant_id, integration_id = add_braze(context)
    context.service.update_integration(
        integration_id,
        IntegrationInput(
            profile="entra",
            disabled_rules=["add-as-replace"],
            provider_auth="basic",
            adaptation={"list_404_empty": False, "max_filter_scan": 500},
        ),
    )
    context.service.set_policy(integration_id, POLICY)
    return tenant_id, integration_id


def entry_of(document: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = document["tenants"][0]["integrations"][0]
    return entry


def test_export_writes_profile_and_adaptation(context: AppContext) -> None:
    add_entra(context)

    entry = entry_of(export_document(context.service))

    assert entry["profile"] == "entra"
    assert entry["disabled_rules"] == ["add-as-replace"]
    assert entry["provider_auth"] == "basic"
    assert entry["adaptation"] == {
        "list_404_empty": False,
        "max_members_per_patch": 1000,
        "max_filter_scan": 500,
    }
    assert entry["limits"] == POLICY


def test_round_trip_keeps_every_integration_setting(
    context: AppContext, tmp_path: Path
) -> None:
    tenant_id, integration_id = add_entra(context)
    before = context.service.get_integration(integration_id)
    document = export_document(context.service)
    context.service.delete_tenant(tenant_id)

    apply(context, document, tmp_path)

    after = context.service.get_integration(integration_id)
    assert after.profile == "entra"
    assert after.disabled_rules == before.disabled_rules
    assert after.provider_auth == before.provider_auth
    assert after.adaptation == {
        "list_404_empty": False,
        "max_members_per_patch": 1000,
        "max_filter_scan": 500,
    }
    assert context.service.get_policy(integration_id).to_dict() == POLICY
    assert export_document(context.service) == document


def test_reimport_of_profile_settings_changes_nothing(
    context: AppContext, tmp_path: Path
) -> None:
    add_entra(context)
    document = export_document(context.service)
    before = version(context)

    report = apply(context, document, tmp_path)

    assert [change.action for change in report.changes] == ["unchanged", "unchanged"]
    assert version(context) == before


def test_changed_profile_is_reported_as_update(
    context: AppContext, tmp_path: Path
) -> None:
    _, integration_id = add_entra(context)
    document = export_document(context.service)
    entry_of(document)["profile"] = "okta"

    report = apply(context, document, tmp_path)

    assert report.changes[1].action == "updated"
    assert report.changes[1].fields == ["profile"]
    view = context.service.get_integration(integration_id)
    assert view.profile == "okta"
    assert view.disabled_rules == ["add-as-replace"]


def test_changed_auth_and_rules_are_reported_as_update(
    context: AppContext, tmp_path: Path
) -> None:
    _, integration_id = add_entra(context)
    document = export_document(context.service)
    entry_of(document).update(disabled_rules=[], provider_auth="bearer")

    report = apply(context, document, tmp_path)

    assert report.changes[1].fields == ["disabled_rules", "provider_auth"]
    view = context.service.get_integration(integration_id)
    assert view.disabled_rules == []
    assert view.provider_auth == "bearer"


def test_adaptation_states_the_whole_set(context: AppContext, tmp_path: Path) -> None:
    _, integration_id = add_entra(context)
    entry = integration_entry(
        id=integration_id, adaptation={"max_members_per_patch": 50}
    )

    report = apply(context, document_of(entry), tmp_path)

    assert report.changes[1].fields == ["adaptation"]
    assert context.service.get_integration(integration_id).adaptation == {
        "list_404_empty": True,
        "max_members_per_patch": 50,
        "max_filter_scan": 10_000,
    }


def test_unknown_profile_is_rejected_with_nothing_stored(
    context: AppContext, tmp_path: Path
) -> None:
    before = version(context)

    with pytest.raises(SettingsError) as raised:
        apply(context, document_of(integration_entry(profile="oktaa")), tmp_path)

    assert rejected_fields(raised) == [f"{ENTRY}.profile"]
    assert "use one of generic, okta, entra" in str(raised.value)
    assert context.service.list_tenants() == []
    assert version(context) == before


def test_unknown_profile_leaves_existing_integration_alone(
    context: AppContext, tmp_path: Path
) -> None:
    _, integration_id = add_entra(context)
    document = export_document(context.service)
    entry_of(document).update(profile="oktaa", scim_url="https://example.org/scim/v2")
    before = version(context)

    with pytest.raises(SettingsError) as raised:
        apply(context, document, tmp_path)

    assert rejected_fields(raised) == [f"{ENTRY}.profile"]
    view = context.service.get_integration(integration_id)
    assert view.profile == "entra"
    assert view.scim_url == "https://rest.example.com/scim/v2"
    assert version(context) == before


def test_rule_outside_profile_is_rejected(context: AppContext, tmp_path: Path) -> None:
    _, integration_id = add_entra(context)
    document = export_document(context.service)
    entry_of(document)["disabled_rules"] = ["string-booleans"]
    entry_of(document)["profile"] = "okta"

    with pytest.raises(SettingsError) as raised:
        apply(context, document, tmp_path)

    assert rejected_fields(raised) == [f"{ENTRY}.disabled_rules"]
    assert "not a rule of the profile okta" in str(raised.value)
    assert context.service.get_integration(integration_id).profile == "entra"


def test_rule_without_profile_is_rejected(context: AppContext, tmp_path: Path) -> None:
    entry = integration_entry(disabled_rules=["string-booleans"])

    with pytest.raises(SettingsError) as raised:
        apply(context, document_of(entry), tmp_path)

    assert rejected_fields(raised) == [f"{ENTRY}.disabled_rules"]
    assert context.service.list_tenants() == []


def test_adaptation_out_of_range_names_field(
    context: AppContext, tmp_path: Path
) -> None:
    entry = integration_entry(adaptation={"max_filter_scan": 0})

    with pytest.raises(SettingsError) as raised:
        apply(context, document_of(entry), tmp_path)

    assert rejected_fields(raised) == [f"{ENTRY}.adaptation.max_filter_scan"]
    assert context.service.list_tenants() == []


def test_entry_without_profile_keys_gets_defaults(
    context: AppContext, tmp_path: Path
) -> None:
    report = apply(context, document_of(integration_entry()), tmp_path)

    view = context.service.get_integration(report.changes[1].id)
    assert view.profile == "generic"
    assert view.disabled_rules == []
    assert view.provider_auth == "bearer"
    assert view.adaptation == {}


def test_entry_without_profile_keys_keeps_stored_ones(
    context: AppContext, tmp_path: Path
) -> None:
    _, integration_id = add_entra(context)
    before = context.service.get_integration(integration_id)
    entry = integration_entry(
        id=integration_id,
        headers=[
            {"name": "X-Request-Origin", "value": "acme"},
            {
                "name": "X-Api-Secret",
                "value": {"env": "SCIMRELAY_BRAZE_HEADER_X_API_SECRET"},
            },
        ],
    )

    report = apply(context, document_of(entry), tmp_path)

    assert report.changes[1].action == "unchanged"
    assert context.service.get_integration(integration_id) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"profile": ["okta"]}, "profile"),
        ({"disabled_rules": "string-booleans"}, "disabled_rules"),
        ({"provider_auth": 1}, "provider_auth"),
        ({"adaptation": {"list_404_empty": "no"}}, "adaptation.list_404_empty"),
        ({"adaptation": {"max_filter_scan": True}}, "adaptation.max_filter_scan"),
        ({"adaptation": {"max_filter_scan": 2.5}}, "adaptation.max_filter_scan"),
        ({"adaptation": {"page_size": 10}}, "adaptation.page_size"),
        ({"adaptation": [1]}, "adaptation"),
    ],
)
def test_malformed_profile_setting_names_field(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        parse_document(document_of(integration_entry(**changes)))

    assert rejected_fields(raised) == [f"{ENTRY}.{field}"]


def test_cli_import_into_empty_store_keeps_profile(tmp_path: Path) -> None:
    runner = CliRunner()
    source: dict[str, str | None] = {
        "SCIMRELAY_DATABASE_URL": None,
        "SCIMRELAY_DATA_DIR": str(tmp_path / "source"),
        "SCIMRELAY_ALLOW_PRIVATE_DOWNSTREAMS": "true",
        "SCIMRELAY_BRAZE_TOKEN": "braze-token",
    }
    target = {**source, "SCIMRELAY_DATA_DIR": str(tmp_path / "target")}
    exported = tmp_path / "scimrelay.yaml"
    tenant = runner.invoke(main, ["tenant", "create", "Acme", "--json"], env=source)
    create = [
        "integration",
        "create",
        "--tenant",
        json.loads(tenant.output)["id"],
        "--name",
        "Braze",
        "--scim-url",
        "https://rest.example.com/scim/v2",
        "--token-stdin",
        "--profile",
        "entra",
        "--disable-rule",
        "string-booleans",
        "--provider-auth",
        "basic",
        "--max-members-per-patch",
        "200",
    ]
    created = runner.invoke(main, [*create, "--json"], input="braze-token", env=source)
    integration_id = json.loads(created.output)["id"]

    runner.invoke(main, ["export", "-o", str(exported)], env=source)
    imported = runner.invoke(main, ["import", str(exported)], env=target)
    show = runner.invoke(
        main, ["integration", "show", integration_id, "--json"], env=target
    )

    assert imported.exit_code == 0, imported.output
    view = json.loads(show.output)
    assert view["profile"] == "entra"
    assert view["disabled_rules"] == ["string-booleans"]
    assert view["provider_auth"] == "basic"
    assert view["adaptation"]["max_members_per_patch"] == 200
