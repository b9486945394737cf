"""Test connection: call a downstream the way the relay would, and diagnose it.

Two requests are made with the integration's token and headers:
``GET /ServiceProviderConfig`` and a one-result ``GET /Users``. The outcome is
reduced to one line naming the cause and one line saying what to check next.
Unless private downstreams are allowed, the test checks addresses with the
relay's address guard (``relay.netguard``), as the relay's own client does.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson
from aiohttp.abc import AbstractResolver
from yarl import URL

from scimrelay.errors import DownstreamRefused
from scimrelay.integrations.validation import Header
from scimrelay.relay import netguard
from scimrelay.relay.directory import USER_AGENT

DEFAULT_TIMEOUT = 10.0
HEADER_WORDS = ("header", "x-request-origin", "origin")


@dataclass
class Step:
    url: str
    status: int | None
    duration_ms: float


@dataclass
class ConnectionReport:
    ok: bool
    code: str
    message: str
    hint: str
    steps: list[Step] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Answer:
    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class Guard:
    """Address rule of the relay's client, applied to the test's connections.

    ``resolver`` replaces the system resolver, as in the relay's client.
    """

    allow_private: bool = False
    resolver: AbstractResolver | None = None

    def connector(self) -> aiohttp.TCPConnector:
        resolver = self.resolver
        if not self.allow_private:
            resolver = netguard.GuardedResolver(resolver)
        return aiohttp.TCPConnector(resolver=resolver)


async def test_connection(
    scim_url: str,
    token: str,
    headers: list[Header],
    timeout: float = DEFAULT_TIMEOUT,
    guard: Guard | None = None,
) -> ConnectionReport:
    """Diagnose whether the relay can use this downstream with these settings."""
    outbound = {header.name: header.value for header in headers}
    outbound["Authorization"] = f"Bearer {token}"
    outbound["Accept"] = "application/scim+json"
    outbound["User-Agent"] = USER_AGENT
    steps: list[Step] = []
    guard = guard or Guard()
    rejected = _rejected_host(scim_url, guard)
    if rejected is not None:
        return rejected

    client_timeout = aiohttp.ClientTimeout(total=timeout)
    async with aiohttp.ClientSession(
        connector=guard.connector(), timeout=client_timeout
    ) as session:
        for path in ("/ServiceProviderConfig", "/Users?startIndex=1&count=1"):
            url = scim_url + path
            result = await _call(session, url, outbound, steps)
            if isinstance(result, ConnectionReport):
                return _with_steps(result, steps)
            problem = _diagnose_answer(scim_url, path, result, headers)
            if problem is not None:
                return _with_steps(problem, steps)

    return ConnectionReport(
        True,
        "ok",
        "Connected: the downstream answered as a SCIM server and accepted the token.",
        "Nothing to fix. Give the identity provider the relay's SCIM URL and API key.",
        steps,
    )


def _rejected_host(scim_url: str, guard: Guard) -> ConnectionReport | None:
    """Reject a literal private address or a local name before connecting."""
    host = URL(scim_url, encoded=True).raw_host or ""
    try:
        netguard.HostCheck(guard.allow_private).check(host)
    except DownstreamRefused:
        return _address_not_allowed(host, str(netguard.host_reason(host)))
    return None


def _address_not_allowed(host: str, reason: str) -> ConnectionReport:
    return _failure(
        "address_not_allowed",
        f"The relay may not connect to {host}: {reason}.",
        "Use the application's public SCIM URL, or set "
        "SCIMRELAY_ALLOW_PRIVATE_DOWNSTREAMS=true if the downstream is meant "
        "to be on a private network.",
    )


def _with_steps(report: ConnectionReport, steps: list[Step]) -> ConnectionReport:
    report.steps = steps
    return report


async def _call(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    steps: list[Step],
) -> _Answer | ConnectionReport:
    started = time.perf_counter()
    try:
        async with session.get(
            URL(url, encoded=True), headers=headers, allow_redirects=False
        ) as response:
            body = await response.read()
    except TimeoutError:
        steps.append(Step(url, None, _since(started)))
        return _failure(
            "timeout",
            "The downstream did not answer in time.",
            "Check that the host is up and not behind a firewall.",
        )
    except aiohttp.ClientError as error:
        steps.append(Step(url, None, _since(started)))
        return _connection_failure(url, error)

    steps.append(Step(url, response.status, _since(started)))
    return _Answer(response.status, response.headers.get("content-type", ""), body)


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _failure(code: str, message: str, hint: str) -> ConnectionReport:
    return ConnectionReport(False, code, message, hint)


def _connection_failure(url: str, error: aiohttp.ClientError) -> ConnectionReport:
    host = urlsplit(url).hostname or url
    cause = getattr(error, "os_error", None)
    if isinstance(cause, netguard.RefusedAddress):
        return _address_not_allowed(host, f"its DNS answer is rejected: {cause}")
    if isinstance(error, aiohttp.ClientConnectorDNSError):
        return _failure(
            "dns",
            f"The host name {host} does not resolve.",
            "Check the host name in the SCIM URL for typos.",
        )
    if isinstance(
        error, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError
    ):
        return _failure(
            "tls",
            f"The TLS handshake with {host} failed: {_tls_reason(error)}.",
            "Check the URL's scheme and port, and that the server's "
            "certificate is valid for this host name.",
        )
    if isinstance(error, aiohttp.ClientConnectorError):
        if isinstance(error.os_error, ConnectionRefusedError):
            return _failure(
                "refused",
                f"The connection to {host} was refused.",
                "Check the port in the SCIM URL and that the server runs.",
            )
        return _failure(
            "unreachable",
            f"{host} is unreachable: {error.os_error.strerror}.",
            "Check the host name and the network path to it.",
        )
    return _failure(
        "unreachable",
        f"The connection to {host} failed ({type(error).__name__}).",
        "Check the SCIM URL and that the server speaks HTTP on that port.",
    )


def _tls_reason(error: aiohttp.ClientError) -> str:
    cause = getattr(error, "certificate_error", None) or getattr(
        error, "os_error", None
    )
    if isinstance(cause, ssl.SSLError):
        return cause.reason or type(cause).__name__
    return type(error).__name__


def _diagnose_answer(
    scim_url: str, path: str, answer: _Answer, headers: list[Header]
) -> ConnectionReport | None:
    status = answer.status
    text = answer.body.decode("utf-8", errors="replace").lower()
    if status == 401:
        return _failure(
            "unauthorized",
            "The downstream rejected the API token (401).",
            "Paste a current token from the application's SCIM settings.",
        )
    if status in (400, 403) and _mentions_header(text, headers):
        return _failure(
            "header_rejected",
            f"The downstream refused the request ({status}) over a header.",
            "Check the custom headers the application requires, "
            "such as X-Request-Origin, and their values.",
        )
    if status == 403:
        return _failure(
            "forbidden",
            "The downstream refused the token (403).",
            "Check that the token has SCIM provisioning permission.",
        )
    if status == 404:
        return _failure(
            "not_found",
            f"{scim_url}{path} was not found (404).",
            _base_url_hint(scim_url),
        )
    if 300 <= status < 400:
        return _failure(
            "redirect",
            f"The downstream redirects ({status}).",
            "Use the final URL, usually https://, as the SCIM URL.",
        )
    if status >= 400:
        return _failure(
            "http_error",
            f"The downstream answered {status}.",
            "Check the downstream's status and the request log.",
        )
    if not _is_json(answer):
        kind = answer.content_type.split(";")[0] or "a body that is not JSON"
        return _failure(
            "not_scim",
            f"The URL answered with {kind}, not SCIM JSON.",
            _base_url_hint(scim_url),
        )
    return None


def _mentions_header(text: str, headers: list[Header]) -> bool:
    names = [header.name.lower() for header in headers]
    return any(word in text for word in (*HEADER_WORDS, *names))


def _is_json(answer: _Answer) -> bool:
    try:
        document = orjson.loads(answer.body)
    except orjson.JSONDecodeError:
        return False
    return isinstance(document, dict)


def _base_url_hint(scim_url: str) -> str:
    path = urlsplit(scim_url).path.rstrip("/")
    last = path.rsplit("/", 1)[-1].lower()
    if last in ("users", "groups", "serviceproviderconfig"):
        trimmed = scim_url[: -len(last) - 1]
        return f"The SCIM URL must be the base, not a resource: try {trimmed}."
    if "scim" not in path.lower() and not path.endswith("/v2"):
        return (
            f"The SCIM base URL usually ends in /scim/v2: try {scim_url}/scim/v2, "
            "or copy it from the application's SCIM settings."
        )
    return "Copy the SCIM base URL from the application's SCIM settings."
