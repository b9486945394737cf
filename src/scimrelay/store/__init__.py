"""Persistent state: tenants, integrations, API keys and the request log."""
