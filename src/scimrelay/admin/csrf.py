"""Cross-site request forgery protection for the console.

Double submit: a random token sits in a ``SameSite=Strict`` cookie and in each
form (or the ``X-CSRF-Token`` header of a script's call); a state-changing
request must carry both, equal. A browser's ``Origin`` header, when sent, must
name the console's own origin.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

CSRF_COOKIE = "scimrelay_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(cookie: str | None, submitted: str | None) -> bool:
    if not cookie or not submitted:
        return False
    return hmac.compare_digest(cookie.encode(), submitted.encode())


def origin_allowed(origin: str | None, host: str | None) -> bool:
    """Return whether a request's Origin header, if any, is the console's host."""
    if origin is None:
        return True
    parts = urlsplit(origin)
    return bool(host) and parts.netloc == host
