"""Integrations: settings validation, API keys and the service layer.

The CLI, the admin API and the console change integrations only through
:class:`scimrelay.integrations.service.IntegrationService`, so the rules live
in one place.
"""
