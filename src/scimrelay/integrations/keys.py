"""SCIM API keys issued to identity providers.

A key reads ``scimrelay_<id>_<secret>``: the prefix lets secret scanners find
leaked keys, the 16-character id finds the stored row by primary key, and the
secret carries 256 bits from :func:`secrets.token_urlsafe`. Only the SHA-256 of
the secret is stored; since the secret is random and long, a plain hash is as
strong as a slow password hash and keeps each lookup cheap.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_PREFIX = "scimrelay_"
KEY_ID_LENGTH = 16
SECRET_BYTES = 32


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    plaintext: str
    secret_hash: str


def issue_key() -> IssuedKey:
    key_id = secrets.token_hex(KEY_ID_LENGTH // 2)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return IssuedKey(key_id, f"{KEY_PREFIX}{key_id}_{secret}", hash_secret(secret))


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_key(presented: str) -> tuple[str, str] | None:
    """Split a presented key into id and secret, or return None if malformed."""
    if not presented.startswith(KEY_PREFIX):
        return None

    key_id, separator, secret = presented[len(KEY_PREFIX) :].partition("_")
    if not separator or len(key_id) != KEY_ID_LENGTH or not secret:
        return None
    return key_id, secret


def secret_matches(secret: str, secret_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), secret_hash)
