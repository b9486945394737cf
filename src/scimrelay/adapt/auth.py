"""Reading the provider's SCIM API key from Bearer or HTTP Basic credentials."""

from __future__ import annotations

import base64
import binascii


def presented_key(authorization: str) -> tuple[str, str] | None:
    """Return the scheme and API key of an Authorization header, or None.

    Bearer (RFC 6750) carries the key itself. HTTP Basic (RFC 7617) carries it
    as the password; the user name is ignored, since Okta's Basic option asks
    for both.
    """
    scheme, _, credentials = authorization.partition(" ")
    scheme, credentials = scheme.lower(), credentials.strip()
    if not credentials or scheme not in ("bearer", "basic"):
        return None
    if scheme == "bearer":
        return scheme, credentials
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    _user, separator, password = decoded.partition(":")
    return (scheme, password) if separator and password else None


def accepts(provider_auth: str, scheme: str) -> bool:
    """Tell whether an integration accepts a scheme; Bearer always works."""
    return scheme == "bearer" or provider_auth == scheme
