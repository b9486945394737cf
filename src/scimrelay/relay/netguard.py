"""The downstream address guard: no loopback, private or metadata targets.

A relay that connects wherever an operator's URL points can be turned against
the network it runs in (server-side request forgery). Unless private
downstreams are allowed, every downstream address must be a public unicast
address. The rule is checked when a URL is saved and again each time a
connection is opened, on the addresses DNS returned then, so that a name whose
answer changes after validation is still refused.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from scimrelay.errors import DownstreamRefused

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges that ipaddress does not flag as private, reserved or link-local.
EXTRA_BLOCKED = tuple(
    ipaddress.ip_network(network)
    for network in (
        "100.64.0.0/10",  # carrier-grade NAT, RFC 6598
        "192.0.0.0/24",  # IETF protocol assignments, RFC 6890
        "198.18.0.0/15",  # benchmarking, RFC 2544
        "64:ff9b::/96",  # NAT64, RFC 6052: may reach IPv4 private space
        "64:ff9b:1::/48",  # local-use NAT64, RFC 8215
        "2002::/16",  # 6to4, RFC 3056: embeds an IPv4 address
    )
)
# Cloud metadata services, named so that error messages can say so.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",
        "169.254.170.2",
        "fd00:ec2::254",
        "100.100.100.200",
    )
)
LOCAL_NAMES = ("localhost", "localhost.localdomain", "metadata.google.internal")


def blocked_reason(address: Address) -> str | None:
    """Return why a downstream may not use ``address``, or None if it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return "it is a cloud metadata service address"
    if address.is_loopback:
        return "it is a loopback address"
    if address.is_link_local:
        return "it is a link-local address"
    if address.is_multicast:
        return "it is a multicast address"
    if address.is_unspecified or address.is_reserved:
        return "it is a reserved address"
    if address.is_private or any(address in network for network in EXTRA_BLOCKED):
        return "it is a private address"
    return None


def host_reason(host: str) -> str | None:
    """Judge a URL's host without DNS: IP literals and well-known local names."""
    bare = host.strip("[]").rstrip(".").lower()
    if bare in LOCAL_NAMES or bare.endswith(".localhost"):
        return "it names this machine"
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        return None
    return blocked_reason(address)


def refused(host: str, reason: str) -> DownstreamRefused:
    return DownstreamRefused(
        f"the downstream SCIM server's address is not allowed: {host}: {reason}"
    )


class HostCheck:
    """Remembers which literal hosts pass, so the request path pays a dict lookup."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._verdicts: dict[str, str | None] = {}

    def check(self, host: str) -> None:
        """Raise ``DownstreamRefused`` if ``host`` is a refused literal address."""
        if self.allow_private:
            return
        if host not in self._verdicts:
            if len(self._verdicts) > 10_000:
                self._verdicts.clear()
            self._verdicts[host] = host_reason(host)
        reason = self._verdicts[host]
        if reason is not None:
            raise refused(host, reason)


class RefusedAddress(OSError):
    """A downstream name resolved to an address the relay may not connect to."""


class GuardedResolver(AbstractResolver):
    """Resolve with another resolver, then refuse blocked answers.

    aiohttp connects only to the addresses a resolver returns, so refusing
    here refuses the connection itself, whatever DNS said at validation time.
    """

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        for answer in answers:
            reason = blocked_reason(ipaddress.ip_address(answer["host"]))
            if reason is not None:
                raise RefusedAddress(reason)
        return answers

    async def close(self) -> None:
        await self._inner.close()


def system_addresses(host: str) -> list[str]:
    """Return the addresses the system resolver gives for ``host``, or none."""
    try:
        answers = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return []
    return [str(answer[4][0]) for answer in answers]


def url_reason(
    host: str, resolve: Callable[[str], list[str]] = system_addresses
) -> str | None:
    """Judge a downstream host at validation time, resolving a name once.

    A name that does not resolve yet is let through: the connect-time check
    applies whatever it resolves to later.
    """
    reason = host_reason(host)
    if reason is not None or _is_literal(host):
        return reason
    for answer in resolve(host):
        reason = blocked_reason(ipaddress.ip_address(answer.split("%")[0]))
        if reason is not None:
            return f"it resolves to {answer}, and {reason}"
    return None


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
