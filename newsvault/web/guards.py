"""Pure ASGI middleware between uvicorn and the app: which address a request comes from
(X-Forwarded-For only from trusted proxies), how big a request may be (its target and its
body, refused before they are read whole), and HEAD answered like GET."""

from __future__ import annotations

import contextlib
import ipaddress
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from newsvault.errors import ArchiveError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_TARGET = 8192  # bytes of path and query string; longer: 414


def networks(entries: list[str]) -> tuple[Network, ...]:
    """serve.trusted_proxies as networks (a bare address is a network of one)."""
    found = []
    for entry in entries:
        try:
            found.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ArchiveError(
                f"serve.trusted_proxies: {entry!r} is not an IP address or network"
            ) from None
    return tuple(found)


def _within(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


class ForwardedClient:
    """When the direct peer is a trusted proxy, the client is the right-most address in
    X-Forwarded-For that is not itself a trusted proxy; otherwise the peer, whatever the
    headers say."""

    def __init__(self, app: ASGIApp, trusted: tuple[Network, ...]) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        peer = scope.get("client")
        if scope["type"] == "http" and self.trusted and peer and _within(peer[0], self.trusted):
            hops = [
                hop.strip()
                for name, value in scope["headers"]
                if name == b"x-forwarded-for"
                for hop in value.decode("latin-1").split(",")
                if hop.strip()
            ]
            if hops:
                outside = [hop for hop in hops if not _within(hop, self.trusted)]
                scope = dict(scope, client=(outside[-1] if outside else hops[0], 0))
        await self.app(scope, receive, send)


class HeadAsGet:
    """HEAD answered as GET is, without the body: the same status and headers (monitoring,
    link checkers and `curl -I` use it; the routes are declared for GET only)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return await self.app(scope, receive, send)

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = dict(message, body=b"")
            await send(message)

        await self.app(dict(scope, method="GET"), receive, without_body)


class _TooLarge(Exception):
    pass


class RequestLimits:
    """414 for a target over MAX_TARGET bytes; 413 for a body over `max_body` bytes, at once
    when Content-Length says so, else as soon as the bytes read pass the cap."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        target = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
        if target > MAX_TARGET:
            return await _refuse(send, scope, 414, f"the address is over {MAX_TARGET} bytes")
        too_large = f"the request body is over {self.max_body} bytes"
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_body:
            return await _refuse(send, scope, 413, too_large)
        read, refused, started = 0, False, False

        async def counted() -> Message:
            nonlocal read, refused
            message = await receive()
            read += len(message.get("body", b""))
            if read > self.max_body:
                refused = True
                raise _TooLarge
            return message

        async def unless_refused(message: Message) -> None:
            nonlocal started
            if not refused:  # the app's answer to the exception it saw is not sent
                started = True
                await send(message)

        with contextlib.suppress(_TooLarge):  # the app may have let it through, or not
            await self.app(scope, counted, unless_refused)
        if refused and not started:
            await _refuse(send, scope, 413, too_large)


async def _refuse(send: Send, scope: Scope, status: int, message: str) -> None:
    """A one-line answer: JSON under /api/, plain text elsewhere."""
    if scope["path"].startswith("/api/"):
        body, kind = json.dumps({"detail": message}).encode() + b"\n", b"application/json"
    else:
        body, kind = message.encode() + b"\n", b"text/plain; charset=utf-8"
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
    headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
