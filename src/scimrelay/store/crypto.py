"""Encryption at rest of downstream tokens and header values.

Secrets are encrypted with Fernet (AES-128-CBC with HMAC-SHA256) under a
``MultiFernet`` keyring: the first key encrypts, every key decrypts, so that a
master key can be rotated without downtime. The store keeps a key check value
encrypted under the current key, so a wrong key is caught at start-up instead of
surfacing later as undecryptable tokens.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from scimrelay.errors import ConfigurationError
from scimrelay.settings import Settings

KEY_FILE_NAME = "secret.key"
KEY_CHECK_PLAINTEXT = b"scimrelay key check"
# The command that prints a new master key, quoted in error messages.
GENERATE_KEY = (
    "`python -c 'from cryptography.fernet import Fernet; "
    "print(Fernet.generate_key().decode())'`"
)


class Keyring:
    """Encrypts with the first master key and decrypts with any of them."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ConfigurationError("no master key given")

        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def encrypt(self, plaintext: bytes) -> bytes:
        return self._fernet.encrypt(plaintext)

    def decrypt(self, ciphertext: bytes) -> bytes:
        try:
            return self._fernet.decrypt(ciphertext)
        except InvalidToken:
            raise ConfigurationError(
                "a stored secret cannot be decrypted with SCIMRELAY_SECRET_KEY: "
                "set the master key this store was encrypted with"
            ) from None

    def rotate(self, ciphertext: bytes) -> bytes:
        """Re-encrypt under the first key a value encrypted under any key."""
        return self._fernet.rotate(ciphertext)

    def make_key_check(self) -> bytes:
        return self.encrypt(KEY_CHECK_PLAINTEXT)

    def verify_key_check(self, key_check: bytes) -> None:
        try:
            plaintext = self._fernet.decrypt(key_check)
        except InvalidToken:
            plaintext = b""
        if plaintext != KEY_CHECK_PLAINTEXT:
            raise ConfigurationError(
                "SCIMRELAY_SECRET_KEY does not match the key this store was "
                "encrypted with: set the original key (or list it after the new "
                "one to rotate)"
            )


def parse_keys(raw: str) -> list[bytes]:
    """Parse a comma-separated list of urlsafe-base64 Fernet keys."""
    keys = [part.strip().encode() for part in raw.split(",") if part.strip()]
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise ConfigurationError(
                f"SCIMRELAY_SECRET_KEY key #{position} is invalid: each key must be "
                f"32 bytes in urlsafe base64, as made by {GENERATE_KEY}"
            ) from None
    if not keys:
        raise ConfigurationError("SCIMRELAY_SECRET_KEY is empty")
    return keys


def load_keyring(settings: Settings) -> Keyring:
    """Build the keyring from the settings, generating a key file if allowed.

    A key file in the data folder is only used for the embedded SQLite store.
    A shared database needs ``SCIMRELAY_SECRET_KEY`` so that every instance
    encrypts under the same key.
    """
    if settings.secret_key is not None:
        return Keyring(parse_keys(settings.secret_key.reveal()))

    if not settings.uses_embedded_store:
        raise ConfigurationError(
            "SCIMRELAY_SECRET_KEY is missing: it is required when "
            f"SCIMRELAY_DATABASE_URL is set; make one with {GENERATE_KEY} and give "
            "every instance the same value"
        )

    return Keyring(read_or_create_key_file(settings.data_dir / KEY_FILE_NAME))


def read_or_create_key_file(path: Path) -> list[bytes]:
    """Return the key file's keys, newest first, creating it with one key."""
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise ConfigurationError(
                f"{path} is readable by other users (mode {mode:o}): "
                f"run `chmod 600 {path}`"
            )
        return parse_keys(path.read_text())

    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key + b"\n")
    return [key]
