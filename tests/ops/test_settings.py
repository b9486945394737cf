"""Operational settings read from the environment."""

from __future__ import annotations

import pytest

from scimrelay.errors import ConfigurationError
from scimrelay.settings import DEFAULT_LOG_RETENTION_DAYS, Settings


@pytest.mark.parametrize(
    ("raw", "days"), [("", DEFAULT_LOG_RETENTION_DAYS), ("0", 0), ("7", 7)]
)
def test_log_retention_days_parsed(raw: str, days: int) -> None:
    settings = Settings.from_env({"SCIMRELAY_LOG_RETENTION_DAYS": raw})

    assert settings.log_retention_days == days


@pytest.mark.parametrize("raw", ["-1", "seven", "1.5"])
def test_invalid_log_retention_names_variable(raw: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({"SCIMRELAY_LOG_RETENTION_DAYS": raw})

    assert "SCIMRELAY_LOG_RETENTION_DAYS" in str(raised.value)
    assert "0 to keep every entry" in str(raised.value)


@pytest.mark.parametrize(
    "raw", ["metrics-token\n", " metrics-token", "metrics token", "metrics-tökén"]
)
def test_metrics_token_header_unsafe_rejected(raw: str) -> None:
    """A token that an Authorization header cannot carry would never match."""
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({"SCIMRELAY_METRICS_TOKEN": raw})

    message = str(raised.value)
    assert "SCIMRELAY_METRICS_TOKEN" in message
    assert "visible ASCII" in message
    assert raw.strip() not in message
