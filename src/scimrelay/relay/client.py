"""The one shared HTTP client that talks to downstream SCIM servers."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
import structlog
from multidict import CIMultiDictProxy
from yarl import URL

from scimrelay.errors import BadGateway, GatewayTimeout

logger = structlog.get_logger(__name__)

CONNECTION_LIMIT = 512
CONNECT_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class DownstreamResponse:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    elapsed_ms: float


class DownstreamClient:
    """An aiohttp session with explicit timeouts and connection limits."""

    def __init__(self, timeout: float) -> None:
        self._timeout = aiohttp.ClientTimeout(
            total=timeout, sock_connect=min(CONNECT_TIMEOUT, timeout)
        )
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=CONNECTION_LIMIT, limit_per_host=0, ttl_dns_cache=60
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
    ) -> DownstreamResponse:
        """Send one request; connection failures become 502, timeouts 504."""
        assert self._session is not None, "DownstreamClient.start() was not called"
        started = time.perf_counter()
        try:
            async with self._session.request(
                method,
                URL(url, encoded=True),
                headers=headers,
                data=body,
                allow_redirects=False,
            ) as response:
                content = await response.read()
        except TimeoutError:
            raise GatewayTimeout(
                "the downstream SCIM server did not answer in time"
            ) from None
        except aiohttp.ClientConnectorError as error:
            raise BadGateway(
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
