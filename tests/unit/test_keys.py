"""SCIM API keys: format, randomness and matching."""

from scimrelay.integrations.keys import (
    KEY_PREFIX,
    hash_secret,
    issue_key,
    secret_matches,
    split_key,
)


def test_issued_key_has_prefix_id_and_secret() -> None:
    key = issue_key()

    parts = split_key(key.plaintext)

    assert key.plaintext.startswith(KEY_PREFIX)
    assert parts is not None
    assert parts[0] == key.key_id
    assert hash_secret(parts[1]) == key.secret_hash


def test_issued_key_secret_carries_256_bits() -> None:
    key = issue_key()

    parts = split_key(key.plaintext)

    assert parts is not None
    # 32 random bytes in unpadded urlsafe base64 are 43 characters.
    assert len(parts[1]) == 43


def test_issued_keys_differ() -> None:
    keys = {issue_key().plaintext for _ in range(100)}

    assert len(keys) == 100


def test_stored_hash_is_not_the_key() -> None:
    key = issue_key()

    assert key.secret_hash not in key.plaintext
    assert len(key.secret_hash) == 64


def test_malformed_keys_do_not_split() -> None:
    assert split_key("") is None
    assert split_key("Bearer something") is None
    assert split_key(f"{KEY_PREFIX}short_secret") is None
    assert split_key(f"{KEY_PREFIX}0123456789abcdef") is None


def test_secret_matches_only_its_hash() -> None:
    key = issue_key()
    parts = split_key(key.plaintext)
    assert parts is not None

    assert secret_matches(parts[1], key.secret_hash)
    assert not secret_matches(parts[1] + "x", key.secret_hash)
