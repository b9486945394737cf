"""The exception tree of scimrelay.

::

    ScimRelayError
    ├── ConfigurationError        settings or master key unusable at start-up
    ├── SettingsError             operator input rejected; names the field and fix
    ├── NotFoundError             a tenant, integration or key the operator named
    ├── AccessDenied              an admin's role does not allow the action
    ├── ReplayRefused             a log entry that cannot be sent again as stored
    ├── SyncError                 a directory sync could not start or go on
    │   ├── SourceError           the directory source (Google) refused or failed
    │   ├── SyncBusy              another run of the integration holds the lease
    │   ├── DownstreamUnavailable the downstream went away in the middle of a run
    │   └── DownstreamRejected    the downstream refused one object's change
    └── ScimError                 answered to the identity provider (RFC 7644 §3.12)
        ├── InvalidSyntax         400 invalidSyntax
        ├── InvalidValue          400 invalidValue
        ├── InvalidFilter         400 invalidFilter
        ├── NoTarget              400 noTarget
        ├── TooManyResults        400 tooMany
        ├── Unauthorized          401
        ├── ResourceNotFound      404
        ├── PayloadTooLarge       413
        ├── TooMany               413 tooMany
        ├── TooManyRequests       429, with Retry-After
        ├── HeadersTooLarge       431
        ├── BadGateway            502
        │   ├── DownstreamUnreachable   502, nothing was sent
        │   └── DownstreamRefused       502, the address is not allowed
        ├── ServiceUnavailable    503 (circuit open: with Retry-After)
        └── GatewayTimeout        504

Only :mod:`scimrelay.scim.responses` turns a ``ScimError`` into a response body.
"""

from __future__ import annotations

from dataclasses import dataclass


class ScimRelayError(Exception):
    """Base class of every error scimrelay raises on purpose."""


class ConfigurationError(ScimRelayError):
    """Settings, master key or store that the relay cannot start with."""


@dataclass(frozen=True)
class FieldError:
    """One rejected operator setting: the field, what is wrong, and the fix."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class SettingsError(ScimRelayError):
    """Operator input rejected by validation; carries one entry per field."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(error) for error in errors))

    @classmethod
    def single(cls, field: str, message: str) -> SettingsError:
        return cls([FieldError(field, message)])


class NotFoundError(ScimRelayError):
    """A tenant, integration or key named by an operator does not exist."""


class AccessDenied(ScimRelayError):
    """An admin asked for something their role does not allow."""


class ReplayRefused(ScimRelayError):
    """A request log entry that cannot be replayed, with the reason and the fix."""


class ScimError(ScimRelayError):
    """An error returned to the identity provider as a SCIM error body."""

    status: int = 500
    scim_type: str | None = None

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after
        if status is not None:
            self.status = status


class InvalidSyntax(ScimError):
    status = 400
    scim_type = "invalidSyntax"


class InvalidValue(ScimError):
    status = 400
    scim_type = "invalidValue"


class InvalidFilter(ScimError):
    status = 400
    scim_type = "invalidFilter"


class NoTarget(ScimError):
    status = 400
    scim_type = "noTarget"


class TooManyResults(ScimError):
    status = 400
    scim_type = "tooMany"


class Unauthorized(ScimError):
    status = 401


class ResourceNotFound(ScimError):
    status = 404


class PayloadTooLarge(ScimError):
    status = 413


class TooMany(ScimError):
    status = 413
    scim_type = "tooMany"


class TooManyRequests(ScimError):
    """The integration's request budget is spent (RFC 6585 §4)."""

    status = 429


class HeadersTooLarge(ScimError):
    """Too many or too large request headers (RFC 6585 §5)."""

    status = 431


class BadGateway(ScimError):
    status = 502


class DownstreamUnreachable(BadGateway):
    """No connection was made, so no byte of the request reached the downstream."""


class DownstreamRefused(DownstreamUnreachable):
    """The downstream resolved to an address the relay may not connect to."""


class ServiceUnavailable(ScimError):
    status = 503


class GatewayTimeout(ScimError):
    status = 504


class SyncError(ScimRelayError):
    """A directory sync could not start, or could not go on."""


class SourceError(SyncError):
    """The directory source refused a request or could not be read."""


class SyncBusy(SyncError):
    """Another run of the same integration holds the sync lease."""


class DownstreamUnavailable(SyncError):
    """The downstream SCIM server became unreachable during a run."""


class DownstreamRejected(SyncError):
    """The downstream returned an error for one object's change."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"the downstream returned {status}: {detail}")
        self.status = status
        self.detail = detail
