"""The SSRF guard: refuse private, loopback and link-local addresses.

Checked where it cannot be dodged: on the addresses DNS actually returned, inside the
connector's resolver (so a rebinding DNS answer is caught), and on IP-literal hosts of every
URL, redirects included (aiohttp does not ask the resolver about literals). An IPv6 address
that carries an IPv4 address (NAT64, 6to4, Teredo, IPv4-mapped ...) is judged by that one.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from newsvault.errors import BadResponse, BlockedAddress


class BlockedAddressOSError(OSError):
    """Raised inside the resolver; the fetcher turns it into BlockedAddress."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} resolves to {address}, a non-public address")
        self.host = host
        self.address = address


# Prefixes whose last 32 bits are an IPv4 address the packets are delivered to.
_IPV4_IN_LAST_32_BITS = tuple(
    ipaddress.IPv6Network(prefix)
    for prefix in (
        "64:ff9b::/96",  # NAT64, the well-known prefix (RFC 6052)
        "64:ff9b:1::/48",  # NAT64, local use (RFC 8215); taken to use the /96 format
        "::/96",  # IPv4-compatible, ::a.b.c.d (deprecated; :: and ::1 are 0.0.0.0, 0.0.0.1)
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT), ::ffff:0:a.b.c.d
    )
)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address reaches, or None when it carries none."""
    if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d
        return ip.ipv4_mapped
    if ip.teredo is not None:  # 2001::/32: (server, client); the client is who is reached
        return ip.teredo[1]
    if ip.sixtofour is not None:  # 2002:aabb:ccdd::/48
        return ip.sixtofour
    if any(ip in network for network in _IPV4_IN_LAST_32_BITS):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(address: str) -> bool:
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        ip = embedded_ipv4(ip) or ip
    return ip.is_global and not ip.is_multicast


def ip_literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def is_allowed(address: str, *, allow_private: bool, allowed: frozenset[str]) -> bool:
    return allow_private or address in allowed or is_public_address(address)


def check_url(url: str, *, allow_private: bool, allowed: frozenset[str] = frozenset()) -> None:
    """Refuse a URL we must not fetch: a non-http scheme, no host, or a private IP literal."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise BadResponse(url, f"unsupported scheme {parts.scheme!r}: only http and https URLs")
    host = parts.hostname
    if not host:
        raise BadResponse(url, "the URL has no host")
    literal = ip_literal(host)
    if literal and not is_allowed(literal, allow_private=allow_private, allowed=allowed):
        ip = ipaddress.ip_address(literal)
        inner = embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
        shown = f"{literal} (it reaches {inner})" if inner else literal
        raise BlockedAddress(
            url,
            f"{shown} is a private address; set fetch.allow_private_networks = true to allow it",
        )


class GuardedResolver(AbstractResolver):
    """A resolver that refuses hosts resolving to any non-public address."""

    def __init__(self, *, allow_private: bool, allowed: frozenset[str] = frozenset()) -> None:
        self._inner = DefaultResolver()
        self._allow_private = allow_private
        self._allowed = allowed

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            address = result["host"]
            if not is_allowed(address, allow_private=self._allow_private, allowed=self._allowed):
                raise BlockedAddressOSError(host, address)
        return results

    async def close(self) -> None:
        await self._inner.close()

    def __getattr__(self, name: str) -> Any:  # pragma: no cover - delegate extras
        return getattr(self._inner, name)
