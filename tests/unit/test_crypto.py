"""Master keys: generation, file permissions and wrong-key detection."""

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from scimrelay.errors import ConfigurationError
from scimrelay.settings import Secret, Settings
from scimrelay.store.crypto import KEY_FILE_NAME, Keyring, load_keyring, parse_keys


def test_key_file_is_created_with_mode_0600(tmp_path: Path) -> None:
    keyring = load_keyring(Settings(data_dir=tmp_path))

    key_file = tmp_path / KEY_FILE_NAME
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert keyring.decrypt(keyring.encrypt(b"token")) == b"token"


def test_key_file_is_reused_on_next_start(tmp_path: Path) -> None:
    first = load_keyring(Settings(data_dir=tmp_path))
    ciphertext = first.encrypt(b"token")

    second = load_keyring(Settings(data_dir=tmp_path))

    assert second.decrypt(ciphertext) == b"token"


def test_key_file_readable_by_others_is_rejected(tmp_path: Path) -> None:
    load_keyring(Settings(data_dir=tmp_path))
    (tmp_path / KEY_FILE_NAME).chmod(0o644)

    with pytest.raises(ConfigurationError, match="chmod 600"):
        load_keyring(Settings(data_dir=tmp_path))


def test_shared_database_requires_secret_key(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="postgresql://db/test")

    with pytest.raises(ConfigurationError, match="SCIMRELAY_SECRET_KEY is missing"):
        load_keyring(settings)


def test_malformed_secret_key_is_rejected_with_fix() -> None:
    with pytest.raises(ConfigurationError, match="key #1 is invalid"):
        parse_keys("not-a-fernet-key")


def test_wrong_key_fails_key_check() -> None:
    stored = Keyring([Fernet.generate_key()]).make_key_check()

    with pytest.raises(ConfigurationError, match="does not match"):
        Keyring([Fernet.generate_key()]).verify_key_check(stored)


def test_second_key_still_decrypts_after_rotation() -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    ciphertext = Keyring([old]).encrypt(b"token")

    rotated = Keyring([new, old])

    assert rotated.decrypt(ciphertext) == b"token"
    assert Keyring([new]).decrypt(rotated.rotate(ciphertext)) == b"token"


def test_secret_repr_hides_value() -> None:
    secret = Secret("hunter2")

    assert "hunter2" not in repr(secret)
    assert "hunter2" not in str(secret)
    assert secret.reveal() == "hunter2"


def test_settings_repr_hides_secret_key(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()

    settings = Settings(data_dir=tmp_path, secret_key=Secret(key))

    assert key not in repr(settings)
