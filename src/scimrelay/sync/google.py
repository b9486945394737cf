"""Reading a Google Workspace directory through the Admin SDK Directory API.

The service account signs a JWT for the admin it acts as (domain-wide
delegation) and exchanges it at the key's ``token_uri`` for an access token.
``google-auth`` does both. Users, groups and members are read page by page
with read-only scopes. Rate-limit answers (403 ``rateLimitExceeded``, 429)
and server errors are retried with exponential backoff.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import quote

import requests
import structlog
from google.auth import exceptions as google_errors
from google.auth.transport.requests import AuthorizedSession
from google.oauth2 import service_account

from scimrelay.errors import SourceError

logger = structlog.get_logger(__name__)

SCOPE_ROOT = "https://www.googleapis.com/auth/admin.directory."
USER_SCOPE = SCOPE_ROOT + "user.readonly"
GROUP_SCOPE = SCOPE_ROOT + "group.readonly"
MEMBER_SCOPE = SCOPE_ROOT + "group.member.readonly"
DIRECTORY_PATH = "/admin/directory/v1"
REQUEST_TIMEOUT = 60.0
MAX_ATTEMPTS = 7
MAX_DELAY = 32.0
# Max characters of a token endpoint's response quoted in an error message.
MAX_REASON_CHARS = 200
RETRYABLE_REASONS = frozenset(
    {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "backendError"}
)


@dataclass(frozen=True)
class GoogleSourceConfig:
    """A Google source's settings with the service-account key decrypted."""

    integration_id: str
    key_info: dict[str, Any] = field(repr=False)
    subject: str
    customer: str | None
    domain: str | None
    org_units: tuple[str, ...]
    group_patterns: tuple[str, ...]
    sync_groups: bool
    delete_users: bool
    api_url: str | None
    mapping: dict[str, str | None]

    @property
    def scopes(self) -> list[str]:
        """Return the read-only scopes that the sync requests."""
        if not self.sync_groups:
            return [USER_SCOPE]
        return [USER_SCOPE, GROUP_SCOPE, MEMBER_SCOPE]

    @property
    def client_id(self) -> str:
        return str(self.key_info.get("client_id", ""))


@dataclass(frozen=True)
class GoogleGroup:
    id: str
    email: str
    name: str
    member_ids: frozenset[str]


@dataclass(frozen=True)
class DirectorySnapshot:
    """The selected users (as the API returns them) and groups."""

    users: list[dict[str, Any]]
    groups: list[GoogleGroup]


def group_selected(email: str, patterns: tuple[str, ...]) -> bool:
    """Return whether a group's email matches one pattern (all without any)."""
    lowered = email.lower()
    return not patterns or any(fnmatchcase(lowered, p.lower()) for p in patterns)


class DirectoryReader:
    """Reads one source's users, groups and members; blocking, so run in a thread."""

    def __init__(
        self, config: GoogleSourceConfig, api_url: str, retry_seconds: float
    ) -> None:
        self._config = config
        self._base = api_url.rstrip("/") + DIRECTORY_PATH
        self._retry_seconds = retry_seconds
        self._session = _authorized_session(config)

    def read(self) -> DirectorySnapshot:
        """Read the selected users and, if enabled, the selected groups."""
        try:
            users = self._users()
            groups = self._groups() if self._config.sync_groups else []
        finally:
            self._session.close()  # type: ignore[no-untyped-call]
        logger.info("google directory read", users=len(users), groups=len(groups))
        return DirectorySnapshot(users, groups)

    def _users(self) -> list[dict[str, Any]]:
        queries: list[str | None] = [
            _org_unit_query(unit) for unit in self._config.org_units
        ]
        found: dict[str, dict[str, Any]] = {}
        for query in queries or [None]:
            params = {"maxResults": "500", "projection": "full", "orderBy": "email"}
            if query is not None:
                params["query"] = query
            for user in self._pages("/users", params, "users"):
                found.setdefault(str(user["id"]), user)
        return list(found.values())

    def _groups(self) -> list[GoogleGroup]:
        patterns = self._config.group_patterns
        selected = [
            item
            for item in self._pages("/groups", {"maxResults": "200"}, "groups")
            if group_selected(str(item.get("email", "")), patterns)
        ]
        return [
            GoogleGroup(
                id=str(item["id"]),
                email=str(item.get("email", "")),
                name=str(item.get("name") or item.get("email", "")),
                member_ids=frozenset(self._member_ids(str(item["id"]))),
            )
            for item in selected
        ]

    def _member_ids(self, group_id: str) -> set[str]:
        path = f"/groups/{quote(group_id, safe='')}/members"
        params = {"maxResults": "200", "includeDerivedMembership": "true"}
        return {
            str(member["id"])
            for member in self._pages(path, params, "members")
            if member.get("type") == "USER" and member.get("id")
        }

    def _pages(
        self, path: str, params: dict[str, str], key: str
    ) -> Iterator[dict[str, Any]]:
        """Yield the items of every page, following ``nextPageToken``."""
        token: str | None = None
        while True:
            query = {**self._scope_params(path), **params}
            if token:
                query["pageToken"] = token
            page = self._get(path, query)
            yield from page.get(key) or []
            token = page.get("nextPageToken")
            if not token:
                return

    def _scope_params(self, path: str) -> dict[str, str]:
        if path.endswith("/members"):
            return {}
        if self._config.customer:
            return {"customer": self._config.customer}
        return {"domain": self._config.domain or ""}

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        """GET one page, retrying rate limits and server errors with backoff."""
        for attempt in range(MAX_ATTEMPTS):
            response = self._send(path, params)
            if response is not None and not _retryable(response):
                return self._document(response)
            self._pause(attempt, response)
        raise SourceError(
            f"the Directory API at {self._base} returned rate-limit or server "
            f"errors after {MAX_ATTEMPTS} attempts; the next run tries again"
        )

    def _send(self, path: str, params: dict[str, str]) -> requests.Response | None:
        try:
            return self._session.get(
                self._base + path, params=params, timeout=REQUEST_TIMEOUT
            )
        except google_errors.RefreshError as error:
            raise SourceError(_token_error_message(self._config, error)) from None
        except google_errors.TransportError as error:
            raise SourceError(
                "Google's token endpoint "
                f"{self._config.key_info.get('token_uri')} is unreachable "
                f"({type(error).__name__}): check the network path to it"
            ) from None
        except requests.RequestException as error:
            logger.warning("directory api unreachable; retrying", error=str(error))
            return None

    def _pause(self, attempt: int, response: requests.Response | None) -> None:
        delay = min(MAX_DELAY, self._retry_seconds * 2**attempt)
        delay += random.uniform(0, self._retry_seconds)
        retry_after = response.headers.get("Retry-After") if response else None
        if retry_after and retry_after.isdigit():
            delay = max(delay, float(retry_after))
        logger.info(
            "directory api busy; backing off",
            status=response.status_code if response is not None else None,
            attempt=attempt + 1,
            delay_s=round(delay, 3),
        )
        time.sleep(delay)

    def _document(self, response: requests.Response) -> dict[str, Any]:
        if response.status_code != 200:
            raise SourceError(_api_error_message(self._config, response))
        try:
            document = response.json()
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise SourceError(
                f"the Directory API at {self._base} returned a response that is "
                "not JSON: check the source's API URL"
            )
        return document


def _authorized_session(config: GoogleSourceConfig) -> AuthorizedSession:
    """Build a session whose token comes from the key's ``token_uri`` only."""
    try:
        credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            config.key_info, scopes=config.scopes, subject=config.subject
        )
    except (ValueError, KeyError) as error:
        raise SourceError(
            f"the service-account key cannot be used ({type(error).__name__}): "
            "set the source again with a new JSON key file"
        ) from None
    return AuthorizedSession(credentials)  # type: ignore[no-untyped-call]


def _org_unit_query(unit: str) -> str:
    """Return a users.list query for an org unit and the units below it."""
    escaped = unit.replace("\\", "\\\\").replace("'", "\\'")
    return f"orgUnitPath='{escaped}'"


def _retryable(response: requests.Response) -> bool:
    if response.status_code == 429 or response.status_code >= 500:
        return True
    return response.status_code == 403 and bool(
        RETRYABLE_REASONS & _error_reasons(response)
    )


def _error_reasons(response: requests.Response) -> set[str]:
    error = _error_object(response)
    return {
        str(item.get("reason"))
        for item in error.get("errors") or []
        if isinstance(item, dict)
    }


def _error_object(response: requests.Response) -> dict[str, Any]:
    try:
        document = response.json()
    except ValueError:
        return {}
    error = document.get("error") if isinstance(document, dict) else None
    return error if isinstance(error, dict) else {}


def _api_error_message(config: GoogleSourceConfig, response: requests.Response) -> str:
    status = response.status_code
    message = str(_error_object(response).get("message") or response.reason)
    if status in (401, 403):
        return (
            f"the Directory API rejected the request to list the directory ({status}: "
            f"{message}): {config.subject} must be an administrator allowed to "
            "read users and groups, and the service account's client ID "
            f"{config.client_id} must be granted {', '.join(config.scopes)} in "
            "the Admin console's domain-wide delegation"
        )
    return (
        f"the Directory API returned {status} ({message}): check the source's "
        "customer ID or domain and the organisational units"
    )


def _token_error_message(config: GoogleSourceConfig, error: Exception) -> str:
    reason = _excerpt(str(error.args[0]) if error.args else type(error).__name__)
    # google-auth passes the decoded body as a second argument only when the
    # token endpoint returned JSON, so a lone string is a web page or plain text.
    if len(error.args) < 2:
        return (
            f"Google's token endpoint {config.key_info.get('token_uri')} returned "
            f"a body that is not an OAuth error ({reason}): check the "
            "token_uri of the service account's JSON key, or set the source again "
            "with a key downloaded from Google Cloud"
        )
    return (
        f"Google rejected the service account's token request ({reason}): in the "
        "Admin console's domain-wide delegation, grant client ID "
        f"{config.client_id} the scopes {', '.join(config.scopes)}, and check "
        f"that {config.subject} is an active administrator"
    )


def _excerpt(text: str) -> str:
    """Return ``text`` on one line, cut to ``MAX_REASON_CHARS`` characters."""
    line = " ".join(text.split())
    if len(line) <= MAX_REASON_CHARS:
        return line
    return line[: MAX_REASON_CHARS - 3] + "..."
