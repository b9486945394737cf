"""Settings from the environment, checked at start-up."""

from pathlib import Path

import pytest

from scimrelay.errors import ConfigurationError
from scimrelay.settings import DEFAULT_MAX_BODY_BYTES, Settings


def test_defaults_use_embedded_store_in_data_dir() -> None:
    settings = Settings.from_env({})

    assert settings.data_dir == Path(".scimrelay")
    assert settings.uses_embedded_store
    assert settings.resolved_database_url.endswith(".scimrelay/scimrelay.db")
    assert settings.max_body_bytes == DEFAULT_MAX_BODY_BYTES
    assert settings.allow_private_downstreams is False


def test_public_url_trailing_slash_is_dropped() -> None:
    settings = Settings.from_env({"SCIMRELAY_PUBLIC_URL": "https://relay.test/"})

    assert settings.public_url == "https://relay.test"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SCIMRELAY_PUBLIC_URL", "relay.test", "use an absolute http or https URL"),
        ("SCIMRELAY_ALLOW_PRIVATE_DOWNSTREAMS", "maybe", "use true or false"),
        ("SCIMRELAY_MAX_BODY_BYTES", "-5", "use a positive integer"),
        ("SCIMRELAY_MAX_BODY_BYTES", "lots", "use a positive integer"),
        ("SCIMRELAY_DOWNSTREAM_TIMEOUT", "0", "positive number of seconds"),
        ("SCIMRELAY_LOG_FORMAT", "xml", "use one of console, json"),
    ],
)
def test_invalid_values_name_variable_and_fix(
    name: str, value: str, expected: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({name: value})

    assert name in str(raised.value)
    assert expected in str(raised.value)


def test_database_url_turns_off_embedded_store() -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

    settings = Settings.from_env({"SCIMRELAY_DATABASE_URL": url})

    assert not settings.uses_embedded_store
    assert settings.resolved_database_url == url
