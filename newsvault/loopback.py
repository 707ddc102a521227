"""A real HTTP server on 127.0.0.1 for tests, benchmarks and the offline demo.

It runs aiohttp.web in a background thread and answers from a table of routes that can be
changed while it runs: recorded pages and feeds, status codes, ETag/Last-Modified with
304 answers, delays, trickling bodies, compressed bodies, bodies shorter than their declared
length, and endless bodies. Every request is logged, with the time it arrived, so tests can
count hits and measure the spacing of requests.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import hashlib
import mimetypes
import socket
import threading
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import brotli
from aiohttp import web
from multidict import CIMultiDict

ENDLESS_LIMIT = 256 << 20  # an "endless" body still stops after this many bytes
_FIXED_LAST_MODIFIED = "Wed, 19 Jun 2024 13:39:24 GMT"
_CONTENT_TYPES = {
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
}


@dataclass
class Route:
    """What the server answers on one path."""

    body: bytes = b""
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0  # seconds before the status line
    trickle: float | None = None  # send the body one byte every `trickle` seconds
    encoding: str | None = None  # "gzip" | "deflate" | "br": compress `body` on the way out
    redirect: str | None = None  # Location; a 200 status becomes 302
    length: int | None = None  # a Content-Length to declare whatever the body's real length
    endless: bool = False  # repeat the body until the client stops reading


@dataclass(frozen=True)
class RequestLog:
    method: str
    path: str
    headers: CIMultiDict[str]
    at: float = field(default_factory=time.monotonic)  # when it arrived (time.monotonic())


class LoopbackServer:
    """`with LoopbackServer() as server: server.set("/feed", Route(b"..."))`."""

    def __init__(
        self,
        routes: Mapping[str, Route] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.requests: list[RequestLog] = []
        self._host, self._port = host, port
        self._directory: tuple[Path, dict[bytes, bytes], Mapping[str, Mapping[str, str]]] | None
        self._directory = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    @classmethod
    def from_directory(
        cls,
        root: Path,
        *,
        substitutions: Mapping[str, str] | None = None,
        headers: Mapping[str, Mapping[str, str]] | None = None,
    ) -> LoopbackServer:
        """Serve every file under `root` at `/<relative path>`.

        ``{{BASE}}`` in a file becomes the server's base URL once it is bound, so recorded
        feeds can link to recorded pages. `headers` maps a relative path to extra headers.
        """
        server = cls()
        replace = {key.encode(): value.encode() for key, value in (substitutions or {}).items()}
        server._directory = (Path(root), replace, headers or {})
        return server

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> LoopbackServer:
        sock = socket.socket(socket.AF_INET6 if ":" in self._host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        port = sock.getsockname()[1]
        host = f"[{self._host}]" if ":" in self._host else self._host
        self.base_url = f"http://{host}:{port}"
        if self._directory is not None:
            self._load_directory(*self._directory)
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._start_site(sock))
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=serve, name="loopback-http", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    async def _start_site(self, sock: socket.socket) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        # Shut down on the server's loop, so handlers still sleeping are cancelled there.
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop = self._thread = None

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- routes ----------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def set(self, path: str, route: Route) -> None:
        self.routes[path] = route

    def remove(self, path: str) -> None:
        self.routes.pop(path, None)

    def hits(self, path: str) -> int:
        return sum(1 for request in self.requests if request.path == path)

    def _load_directory(
        self,
        root: Path,
        replace: dict[bytes, bytes],
        headers: Mapping[str, Mapping[str, str]],
    ) -> None:
        replace = {b"{{BASE}}": self.base_url.encode(), **replace}
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            relative = path.relative_to(root).as_posix()
            body = path.read_bytes()
            for key, value in replace.items():
                body = body.replace(key, value)
            extra = dict(headers.get(relative, {}))
            if not any(name.lower() == "content-type" for name in extra):
                extra["Content-Type"] = _content_type(path)
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            self.routes["/" + relative] = Route(
                body, headers=extra, etag=etag, last_modified=_FIXED_LAST_MODIFIED
            )

    # -- answering -------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        log = RequestLog(
            request.method, request.path, CIMultiDict(request.headers), time.monotonic()
        )
        self.requests.append(log)
        route = self.routes.get(request.path)
        if route is None:
            return web.Response(status=404, text="not found on the loopback server")
        if route.delay:
            await asyncio.sleep(route.delay)
        headers = CIMultiDict(route.headers)
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        if _not_modified(request, route):
            return web.Response(status=304, headers=headers)
        status = route.status
        if route.redirect is not None:
            headers["Location"] = route.redirect
            status = 302 if status == 200 else status
        body = _encode(route.body, route.encoding)
        if route.encoding:
            headers["Content-Encoding"] = route.encoding
        if not (route.trickle or route.endless or route.length is not None):
            return web.Response(status=status, headers=headers, body=body)
        return await self._stream(request, route, status, headers, body)

    async def _stream(
        self,
        request: web.Request,
        route: Route,
        status: int,
        headers: CIMultiDict[str],
        body: bytes,
    ) -> web.StreamResponse:
        response = web.StreamResponse(status=status, headers=headers)
        if route.length is not None:
            response.content_length = route.length
            response.force_close()  # the client must see the connection end short
        await response.prepare(request)
        try:
            if route.trickle:
                for index in range(len(body)):
                    await response.write(body[index : index + 1])
                    await asyncio.sleep(route.trickle)
            elif route.endless:
                sent = 0
                while sent < ENDLESS_LIMIT and body:
                    await response.write(body)
                    sent += len(body)
            else:
                await response.write(body)
                return response  # no write_eof: the declared length is never reached
            await response.write_eof()
        except (ConnectionError, RuntimeError):
            pass  # the client went away, which is what these routes test
        return response


def _not_modified(request: web.Request, route: Route) -> bool:
    if request.method not in ("GET", "HEAD") or route.status != 200:
        return False
    if route.etag and request.headers.get("If-None-Match"):
        tags = [tag.strip() for tag in request.headers["If-None-Match"].split(",")]
        return route.etag in tags or "*" in tags
    since = request.headers.get("If-Modified-Since")
    return bool(route.last_modified and since == route.last_modified)


def _encode(body: bytes, encoding: str | None) -> bytes:
    if encoding is None:
        return body
    if encoding == "gzip":
        return gzip.compress(body, mtime=0)
    if encoding == "deflate":
        return zlib.compress(body)
    if encoding == "br":
        return brotli.compress(body)
    raise ValueError(f"unknown encoding {encoding!r}: use gzip, deflate or br")


def _content_type(path: Path) -> str:
    known = _CONTENT_TYPES.get(path.suffix.lower())
    if known:
        return known
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "text/html; charset=utf-8"


@functools.cache
def gzip_bomb(size: int = 1 << 30) -> bytes:
    """`size` zero bytes gzip-compressed (about a thousandth of that), built in bounded steps."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    parts = [compressor.compress(block) for _ in range(size // len(block))]
    parts.append(compressor.flush())
    return b"".join(parts)


@functools.cache
def brotli_bomb(size: int = 1 << 30) -> bytes:
    """`size` zero bytes brotli-compressed: a few hundred bytes that expand a millionfold."""
    compressor = brotli.Compressor(quality=5)
    block = bytes(1 << 20)
    parts = [compressor.process(block) for _ in range(size // len(block))]
    parts.append(compressor.finish())
    return b"".join(parts)


__all__ = ["LoopbackServer", "RequestLog", "Route", "brotli_bomb", "gzip_bomb"]
