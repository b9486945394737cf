"""Write the store's tenants and integrations as a configuration document.

No secret is written: each token and secret header value becomes a reference
to an environment variable named after its integration, such as
``{env: SCIMRELAY_BRAZE_PRODUCTION_TOKEN}``, for the operator to set wherever
the document is imported. Header values not marked secret are written as
they are. A Google source's service-account key becomes a reference too.
API keys are not exported either: an integration created by an import gets
a new key, shown once.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

import yaml

from scimrelay.adapt.settings import Adaptation
from scimrelay.integrations.service import IntegrationService, IntegrationView
from scimrelay.integrations.validation import Header
from scimrelay.portability.document import FORMAT_VERSION, SecretReference
from scimrelay.portability.google import SECTION, export_google
from scimrelay.sync.service import SourceService

HEADER = (
    "# scimrelay configuration. Secrets are references: set each variable\n"
    "# before `scimrelay import`, or change it to {file: PATH}.\n"
)


def export_document(service: IntegrationService) -> dict[str, Any]:
    """Return every tenant and integration as a document, secrets as references."""
    names = _VariableNames()
    sources = SourceService(service.store, service.keyring)
    tenants = []
    for tenant in service.list_tenants():
        integrations = [
            _integration(service, sources, view, names)
            for view in service.list_integrations(tenant.id)
        ]
        tenants.append(
            {"id": tenant.id, "name": tenant.name, "integrations": integrations}
        )
    return {"version": FORMAT_VERSION, "tenants": tenants}


def dump(document: dict[str, Any]) -> str:
    """Return the document as YAML, keys in the order written."""
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=88)
    return HEADER + body


def _integration(
    service: IntegrationService,
    sources: SourceService,
    view: IntegrationView,
    names: _VariableNames,
) -> dict[str, Any]:
    stem = names.claim(view.name, view.id)
    _, headers = service.read_secrets(view.id)
    entry = {
        "id": view.id,
        "name": view.name,
        "scim_url": view.scim_url,
        "token": SecretReference("env", f"{stem}_TOKEN").to_yaml(),
        "headers": [_header(header, stem) for header in headers],
        "group_description": view.group_description,
        "force_group_description": view.force_group_description,
        "profile": view.profile,
        "disabled_rules": view.disabled_rules,
        "provider_auth": view.provider_auth,
        "adaptation": asdict(Adaptation.from_dict(view.adaptation)),
        "limits": service.get_policy(view.id).to_dict(),
    }
    google = export_google(sources, view.id, stem)
    if google is not None:
        entry[SECTION] = google
    return entry


def _header(header: Header, stem: str) -> dict[str, Any]:
    if not header.secret:
        return {"name": header.name, "value": header.value}

    variable = f"{stem}_HEADER_{_slug(header.name)}"
    return {
        "name": header.name,
        "value": SecretReference("env", variable).to_yaml(),
        "secret": True,
    }


class _VariableNames:
    """Hands out one environment variable stem per integration, never twice."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def claim(self, name: str, integration_id: str) -> str:
        stem = f"SCIMRELAY_{_slug(name) or 'INTEGRATION'}"
        if stem in self._taken:
            stem = f"{stem}_{_slug(integration_id[:8])}"
        self._taken.add(stem)
        return stem


def _slug(text: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", text.upper()).strip("_")
