"""The SSRF guard: refuse private, loopback and link-local addresses.

Checked where it cannot be dodged: on the addresses DNS actually returned, inside the
connector's resolver (so a rebinding DNS answer is caught), and on IP-literal hosts of every
URL, redirects included (aiohttp does not ask the resolver about literals).
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


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
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
        raise BlockedAddress(
            url,
            f"{literal} is a private address; set fetch.allow_private_networks = true to allow it",
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
