"""The one shared HTTP client that talks to downstream SCIM servers."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
import structlog
from aiohttp.abc import AbstractResolver
from multidict import CIMultiDictProxy
from yarl import URL

from scimrelay.errors import BadGateway, DownstreamUnreachable, GatewayTimeout
from scimrelay.relay import netguard

logger = structlog.get_logger(__name__)

CONNECTION_LIMIT = 512
CONNECT_TIMEOUT = 10.0
UNLIMITED_BYTES = 1 << 62


@dataclass(frozen=True, slots=True)
class DownstreamResponse:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    elapsed_ms: float


class DownstreamClient:
    """An aiohttp session with explicit timeouts and connection limits."""

    def __init__(
        self,
        timeout: float,
        *,
        allow_private: bool = True,
        max_response_bytes: int = UNLIMITED_BYTES,
        resolver: AbstractResolver | None = None,
    ) -> None:
        self._timeout = aiohttp.ClientTimeout(
            total=timeout, sock_connect=min(CONNECT_TIMEOUT, timeout)
        )
        self._session: aiohttp.ClientSession | None = None
        self._hosts = netguard.HostCheck(allow_private)
        self._max_bytes = max_response_bytes
        self._resolver = resolver
        if not allow_private:
            self._resolver = netguard.GuardedResolver(resolver)

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=CONNECTION_LIMIT,
            limit_per_host=0,
            ttl_dns_cache=60,
            resolver=self._resolver,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            auto_decompress=True,
            skip_auto_headers=("User-Agent",),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> DownstreamResponse:
        """Send one request; connection failures become 502, timeouts 504.

        Redirects are never followed, and the connection is refused before it
        is opened when the address is not allowed (see ``netguard``).
        """
        assert self._session is not None, "DownstreamClient.start() was not called"
        started = time.perf_counter()
        target = URL(url, encoded=True)
        self._hosts.check(target.raw_host or "")
        try:
            async with self._session.request(
                method,
                target,
                headers=headers,
                data=body,
                allow_redirects=False,
                timeout=timeout or self._timeout,
            ) as response:
                content = await self._read(response)
        except TimeoutError:
            raise GatewayTimeout(
                "the downstream SCIM server did not answer in time"
            ) from None
        except aiohttp.ClientConnectorError as error:
            if isinstance(error.os_error, netguard.RefusedAddress):
                reason = str(error.os_error)
                raise netguard.refused(target.raw_host or "", reason) from None
            raise DownstreamUnreachable(
                f"the downstream SCIM server is unreachable: {_reason(error)}"
            ) from None
        except aiohttp.ClientError as error:
            raise BadGateway(
                f"the downstream SCIM server broke the connection: {_reason(error)}"
            ) from None

        elapsed_ms = (time.perf_counter() - started) * 1000
        logger.info(
            "downstream call",
            method=method,
            url=url,
            status=response.status,
            duration_ms=round(elapsed_ms, 2),
        )
        return DownstreamResponse(
            response.status, response.headers, content, elapsed_ms
        )

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        """Read the body, refusing one larger than the configured limit."""
        declared = response.content_length
        if declared is not None and declared > self._max_bytes:
            raise self._too_large()
        if declared is not None and "content-encoding" not in response.headers:
            return await response.read()
        chunks = []
        size = 0
        async for chunk in response.content.iter_chunked(1 << 16):
            size += len(chunk)
            if size > self._max_bytes:
                raise self._too_large()
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self) -> BadGateway:
        return BadGateway(
            "the downstream SCIM server answered a body larger than the "
            f"relay's limit of {self._max_bytes} bytes"
        )


def _reason(error: aiohttp.ClientError) -> str:
    if isinstance(error, aiohttp.ClientConnectorDNSError):
        return "its host name does not resolve"
    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        return "its TLS certificate is not trusted"
    if isinstance(error, aiohttp.ClientSSLError):
        return "the TLS handshake failed"
    if isinstance(error, aiohttp.ClientConnectorError):
        if isinstance(error.os_error, ConnectionRefusedError):
            return "connection refused"
        return error.os_error.strerror or type(error.os_error).__name__
    return type(error).__name__
