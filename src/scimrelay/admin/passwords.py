"""Password hashing with argon2id.

The parameters are OWASP's recommended minimum for argon2id (19 MiB of memory,
two passes, one lane), which keeps a sign-in near 50 ms on a small server.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the email is unknown, so that both cases take as long.
_DUMMY_HASH = _hasher.hash("scimrelay: no such admin")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Return whether the password matches; an unknown user never matches."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and (
            password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problem(password: str) -> str | None:
    """Return why a new password is refused, or None when it is accepted."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"is shorter than {MIN_PASSWORD_LENGTH} characters: choose a longer one"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"is longer than {MAX_PASSWORD_LENGTH} characters"
    return None
