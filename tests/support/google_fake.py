"""A local stand-in for Google's OAuth token endpoint and Admin SDK Directory API.

Run it with ``python -m tests.support.google_fake --port PORT``. The tests load
service accounts, the domain-wide delegation grants and each customer's
directory through ``/_control/...`` and then point a service-account key's
``token_uri`` at ``/token`` and the sync's API root at this server.

It behaves as Google does where the sync depends on it:

* ``POST /token`` takes the JWT bearer grant (RFC 7523). The assertion must be
  signed with RS256 by a known service account's key, name that account in
  ``iss``, Google's token endpoint in ``aud``, a current ``iat``/``exp``, an
  administrator in ``sub``, and only scopes that the account's client ID was
  granted. Otherwise it returns Google's error bodies.
* ``GET /admin/directory/v1/users``, ``/groups`` and ``/groups/{key}/members``
  check the bearer token and its scopes, honour ``customer`` (including
  ``my_customer``) or ``domain``, ``maxResults``, ``pageToken``, the
  ``orgUnitPath='...'`` query (a unit and the units below it) and
  ``includeDerivedMembership``, and page with ``nextPageToken``.
* Every ``rate_limit_every``-th Directory API request gets 403
  ``rateLimitExceeded``, as Google returns under load.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import secrets
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

import uvicorn
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SCOPE_ROOT = "https://www.googleapis.com/auth/admin.directory."
API_ROOT = "/admin/directory/v1"
MEMBERS_PATH = re.compile(rf"{API_ROOT}/groups/([^/]+)/members")
ORG_UNIT_QUERY = re.compile(r"orgUnitPath\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\S+))")
TOKEN_LIFETIME = 3600
CLOCK_SKEW = 300
# Scopes that allow each call. The sync requests the read-only ones.
ALLOWED_SCOPES = {
    "users": {SCOPE_ROOT + "user.readonly", SCOPE_ROOT + "user"},
    "groups": {SCOPE_ROOT + "group.readonly", SCOPE_ROOT + "group"},
    "members": {
        SCOPE_ROOT + "group.member.readonly",
        SCOPE_ROOT + "group.member",
        SCOPE_ROOT + "group.readonly",
        SCOPE_ROOT + "group",
    },
}
PAGE_LIMITS = {"users": (100, 500), "groups": (200, 200), "members": (200, 200)}


class ApiError(Exception):
    """An error returned in the Directory API's JSON error format."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.status,
                "message": self.message,
                "errors": [
                    {"message": self.message, "domain": "global", "reason": self.reason}
                ],
            }
        }


class TokenError(Exception):
    """An OAuth error returned by the token endpoint (RFC 6749 §5.2)."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


@dataclass
class Grant:
    subject: str
    customer_id: str
    scopes: frozenset[str]
    expires: float


@dataclass
class FakeState:
    """Accounts, delegation grants, directories, issued tokens and counters."""

    accounts: dict[str, dict[str, str]] = field(default_factory=dict)
    delegation: dict[str, list[str]] = field(default_factory=dict)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    rate_limit_every: int = 0
    tokens: dict[str, Grant] = field(default_factory=dict)
    stats: Counter[str] = field(default_factory=Counter)
    api_requests: int = 0


class FakeGoogle:
    """The ASGI application."""

    def __init__(self) -> None:
        self.state = FakeState()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_body(receive)
        path = scope["path"]
        query = parse_qs(scope["query_string"].decode("latin-1"))
        params = {name: values[-1] for name, values in query.items()}
        if path.startswith("/_control/"):
            status, payload = self.control(scope["method"], path, body)
        elif path == "/token" and scope["method"] == "POST":
            status, payload = self.token(body)
        else:
            status, payload = self.api(scope, path, params)
        await _respond(send, status, payload)

    # Control API used by the tests.

    def control(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        state = self.state
        if method == "GET" and path == "/_control/stats":
            return 200, {**state.stats, "api_requests": state.api_requests}
        document = json.loads(body or b"{}")
        if path == "/_control/accounts":
            state.accounts = document["accounts"]
            state.delegation = document["delegation"]
        elif path.startswith("/_control/customers/"):
            state.customers[path.rsplit("/", 1)[1]] = document
        elif path == "/_control/settings":
            state.rate_limit_every = int(document.get("rate_limit_every", 0))
        else:
            return 404, {"error": "unknown control path"}
        return 200, {"ok": True}

    # OAuth token endpoint.

    def token(self, body: bytes) -> tuple[int, Any]:
        form = {key: values[-1] for key, values in parse_qs(body.decode()).items()}
        try:
            grant = self._grant(form)
        except TokenError as error:
            self.state.stats["token_refused"] += 1
            return error.status, {
                "error": error.error,
                "error_description": error.description,
            }
        access_token = "ya29.fake-" + secrets.token_urlsafe(32)
        self.state.tokens[access_token] = grant
        self.state.stats["token_granted"] += 1
        return 200, {
            "access_token": access_token,
            "expires_in": TOKEN_LIFETIME - 1,
            "token_type": "Bearer",
        }

    def _grant(self, form: dict[str, str]) -> Grant:
        if form.get("grant_type") != JWT_GRANT:
            raise TokenError(400, "unsupported_grant_type", "Invalid grant_type.")
        header, claims = _verified_jwt(form.get("assertion", ""), self.state.accounts)
        account = self.state.accounts[claims["iss"]]
        if header.get("kid") not in (None, account.get("private_key_id")):
            raise TokenError(400, "invalid_grant", "Invalid JWT Signature.")
        _check_times(claims)
        if claims.get("aud") != GOOGLE_TOKEN_AUDIENCE:
            raise TokenError(400, "invalid_grant", "Invalid JWT: audience is wrong.")
        scopes = frozenset(str(claims.get("scope", "")).split())
        granted = set(self.state.delegation.get(account["client_id"], []))
        if not scopes or not scopes <= granted:
            raise TokenError(
                401,
                "unauthorized_client",
                "Client is unauthorized to retrieve access tokens using this "
                "method, or client not authorized for any of the scopes requested.",
            )
        customer_id = self._admin_customer(str(claims.get("sub", "")))
        expires = time.time() + TOKEN_LIFETIME
        return Grant(claims["sub"], customer_id, scopes, expires)

    def _admin_customer(self, subject: str) -> str:
        """Return the customer of an active administrator, as ``sub`` must be."""
        for customer_id, directory in self.state.customers.items():
            for user in directory["users"]:
                is_subject = user["primaryEmail"].lower() == subject.lower()
                if is_subject and user.get("isAdmin") and not user.get("suspended"):
                    return customer_id
        raise TokenError(400, "invalid_grant", "Invalid email or User ID")

    # Directory API.

    def api(self, scope: Scope, path: str, params: dict[str, str]) -> tuple[int, Any]:
        try:
            return 200, self._api(scope, path, params)
        except ApiError as error:
            self.state.stats[f"api_error_{error.reason}"] += 1
            return error.status, error.body()

    def _api(self, scope: Scope, path: str, params: dict[str, str]) -> dict[str, Any]:
        if scope["method"] != "GET":
            raise ApiError(405, "methodNotAllowed", "Method not allowed.")
        kind = _api_kind(path)
        grant = self._authorized(scope, kind)
        self.state.api_requests += 1
        every = self.state.rate_limit_every
        if every and self.state.api_requests % every == 0:
            raise ApiError(403, "rateLimitExceeded", "Rate Limit Exceeded")
        self.state.stats[f"{kind}_pages"] += 1
        if kind == "members":
            match = MEMBERS_PATH.fullmatch(path)
            assert match is not None
            return self._members(grant, unquote(match.group(1)), params)
        directory = self._directory(grant, params)
        items = (
            self._users(directory, params) if kind == "users" else directory["groups"]
        )
        return _page(kind, items, params)

    def _authorized(self, scope: Scope, kind: str) -> Grant:
        headers = {
            key.decode().lower(): value.decode() for key, value in scope["headers"]
        }
        credentials = headers.get("authorization", "")
        grant = self.state.tokens.get(credentials.removeprefix("Bearer ").strip())
        if grant is None or grant.expires < time.time():
            raise ApiError(
                401,
                "authError",
                "Request had invalid authentication credentials.",
            )
        if not grant.scopes & ALLOWED_SCOPES[kind]:
            raise ApiError(
                403,
                "insufficientPermissions",
                "Request had insufficient authentication scopes.",
            )
        return grant

    def _directory(self, grant: Grant, params: dict[str, str]) -> dict[str, Any]:
        customer, domain = params.get("customer"), params.get("domain")
        if not customer and not domain:
            raise ApiError(400, "badRequest", "Bad Request")
        if customer == "my_customer":
            customer = grant.customer_id
        if domain:
            found = [
                cid
                for cid, directory in self.state.customers.items()
                if directory["domain"] == domain
            ]
            customer = found[0] if found else None
        if customer != grant.customer_id:
            raise ApiError(
                403, "forbidden", "Not Authorized to access this resource/api"
            )
        return self.state.customers[customer]

    def _users(
        self, directory: dict[str, Any], params: dict[str, str]
    ) -> list[dict[str, Any]]:
        users = sorted(directory["users"], key=lambda user: user["primaryEmail"])
        if params.get("domain"):
            suffix = "@" + params["domain"]
            users = [u for u in users if u["primaryEmail"].endswith(suffix)]
        query = params.get("query")
        if not query:
            return users
        match = ORG_UNIT_QUERY.fullmatch(query.strip())
        if match is None:
            raise ApiError(400, "invalidInput", "Invalid Input")
        unit = (match.group(1) or match.group(2) or "").replace("\\'", "'")
        return [u for u in users if _in_unit(u.get("orgUnitPath", "/"), unit)]

    def _members(
        self, grant: Grant, group_key: str, params: dict[str, str]
    ) -> dict[str, Any]:
        directory = self.state.customers[grant.customer_id]
        group = _find_group(directory, group_key)
        members = directory["members"].get(group["id"], [])
        if params.get("includeDerivedMembership") == "true":
            members = _derived(directory, group["id"], set())
        return _page("members", members, params)


def _verified_jwt(
    assertion: str, accounts: dict[str, dict[str, str]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Decode a compact JWS and check its RS256 signature (RFC 7515, RFC 7518)."""
    try:
        encoded_header, encoded_claims, encoded_signature = assertion.split(".")
        header = json.loads(_b64decode(encoded_header))
        claims = json.loads(_b64decode(encoded_claims))
        signature = _b64decode(encoded_signature)
    except ValueError:
        raise TokenError(400, "invalid_grant", "Invalid JWT.") from None
    if header.get("alg") != "RS256":
        raise TokenError(400, "invalid_grant", "Invalid JWT: alg must be RS256.")
    account = accounts.get(str(claims.get("iss")))
    if account is None:
        raise TokenError(400, "invalid_grant", "Invalid JWT: unknown issuer.")
    public_key = load_pem_public_key(account["public_key_pem"].encode())
    assert isinstance(public_key, RSAPublicKey)
    signed = f"{encoded_header}.{encoded_claims}".encode()
    try:
        public_key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise TokenError(400, "invalid_grant", "Invalid JWT Signature.") from None
    return header, claims


def _check_times(claims: dict[str, Any]) -> None:
    now = time.time()
    issued, expires = float(claims.get("iat", 0)), float(claims.get("exp", 0))
    if not (issued - CLOCK_SKEW <= now < expires + CLOCK_SKEW):
        raise TokenError(
            400, "invalid_grant", "Invalid JWT: Token must be a short-lived token."
        )
    if expires - issued > TOKEN_LIFETIME:
        raise TokenError(400, "invalid_grant", "Invalid JWT: lifetime over one hour.")


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _api_kind(path: str) -> str:
    if path == f"{API_ROOT}/users":
        return "users"
    if path == f"{API_ROOT}/groups":
        return "groups"
    if MEMBERS_PATH.fullmatch(path):
        return "members"
    raise ApiError(404, "notFound", "Not Found")


def _in_unit(user_unit: str, unit: str) -> bool:
    """Return whether an org unit path is ``unit`` or below it."""
    unit = unit.rstrip("/") or "/"
    return unit == "/" or user_unit == unit or user_unit.startswith(unit + "/")


def _find_group(directory: dict[str, Any], key: str) -> dict[str, Any]:
    for group in directory["groups"]:
        if key in (group["id"], group["email"]):
            return group
    raise ApiError(404, "notFound", "Resource Not Found: groupKey")


def _derived(
    directory: dict[str, Any], group_id: str, seen: set[str]
) -> list[dict[str, Any]]:
    """Flatten nested groups into their users, as includeDerivedMembership does."""
    seen.add(group_id)
    users: dict[str, dict[str, Any]] = {}
    for member in directory["members"].get(group_id, []):
        if member["type"] == "GROUP" and member["id"] not in seen:
            for inner in _derived(directory, member["id"], seen):
                users.setdefault(inner["id"], inner)
        elif member["type"] == "USER":
            users.setdefault(member["id"], member)
    return list(users.values())


def _page(
    kind: str, items: list[dict[str, Any]], params: dict[str, str]
) -> dict[str, Any]:
    """Cut one page, with an opaque ``nextPageToken`` tied to the request."""
    default, limit = PAGE_LIMITS[kind]
    size = int(params.get("maxResults") or default)
    if not 1 <= size <= limit:
        raise ApiError(400, "invalid", f"Invalid value for maxResults: {size}")
    fingerprint = _fingerprint(params)
    start = _offset(params.get("pageToken"), fingerprint)
    page: dict[str, Any] = {"kind": f"admin#directory#{kind}", "etag": '"fake"'}
    if items[start : start + size]:
        page[kind] = items[start : start + size]
    if start + size < len(items):
        token = json.dumps({"offset": start + size, "fingerprint": fingerprint})
        page["nextPageToken"] = base64.urlsafe_b64encode(token.encode()).decode()
    return page


def _fingerprint(params: dict[str, str]) -> str:
    stable = {key: value for key, value in params.items() if key != "pageToken"}
    return hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest()[:16]


def _offset(token: str | None, fingerprint: str) -> int:
    if not token:
        return 0
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token))
    except ValueError:
        decoded = {}
    if decoded.get("fingerprint") != fingerprint:
        raise ApiError(400, "invalid", "Invalid page token")
    return int(decoded["offset"])


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _respond(send: Send, status: int, payload: Any) -> None:
    body = json.dumps(payload).encode()
    headers = [
        (b"content-type", b"application/json; charset=UTF-8"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    options = parser.parse_args(argv)
    uvicorn.run(
        FakeGoogle(),
        host=options.host,
        port=options.port,
        lifespan="off",
        log_level="warning",
        timeout_graceful_shutdown=1,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
