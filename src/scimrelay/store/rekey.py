"""Re-encryption of every stored secret under the first master key.

Rotation without downtime: every instance first runs with the new key listed
before the old one (both decrypt, the new one encrypts); then
:func:`reencrypt_all` rewrites each ciphertext under the new key in one
transaction; then the old key can be removed. The decrypted values do not
change, so running relays need not reload anything.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select

from scimrelay.errors import ConfigurationError
from scimrelay.store.crypto import Keyring
from scimrelay.store.database import Store
from scimrelay.store.models import Integration, StoreState


def reencrypt_all(store: Store, keyring: Keyring) -> int:
    """Re-encrypt every token, header set and the key check; return the count."""
    count = 0
    with store.session() as session:
        state = session.get(StoreState, 1, with_for_update=True)
        if state is not None and state.key_check is not None:
            state.key_check = _rotate(keyring, state.key_check)
        for integration in session.scalars(select(Integration)):
            integration.token_ciphertext = _rotate(
                keyring, integration.token_ciphertext
            )
            integration.headers_ciphertext = _rotate(
                keyring, integration.headers_ciphertext
            )
            count += 1
    return count


def check_all(store: Store, keyring: Keyring) -> None:
    """Raise ``ConfigurationError`` unless ``keyring`` decrypts every secret."""
    with store.session() as session:
        state = session.get(StoreState, 1)
        if state is not None and state.key_check is not None:
            keyring.verify_key_check(state.key_check)
        for integration in session.scalars(select(Integration)):
            keyring.decrypt(integration.token_ciphertext)
            keyring.decrypt(integration.headers_ciphertext)


def _rotate(keyring: Keyring, ciphertext: bytes) -> bytes:
    try:
        return keyring.rotate(ciphertext)
    except InvalidToken:
        raise ConfigurationError(
            "a stored secret cannot be decrypted with any key in "
            "SCIMRELAY_SECRET_KEY: list the key it was encrypted with after the "
            "new one; nothing was changed"
        ) from None


def write_key_file(path: Path, keys: list[bytes]) -> None:
    """Replace the key file atomically, readable by its owner only."""
    temporary = path.with_name(path.name + ".new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(b",".join(keys) + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def new_key() -> bytes:
    return Fernet.generate_key()
