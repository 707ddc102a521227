"""The fetcher: every byte newsvault reads from the network comes through `Fetcher.get`.

One aiohttp session per run. Each request runs under an overall deadline (aiohttp's and
httpx's timeouts are inactivity timers that a trickling server defeats), reads the raw body
up to a size cap and decompresses it in bounded steps, follows redirects itself so that
every hop passes the SSRF guard, and retries network errors and 5xx with backoff.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from newsvault import __version__
from newsvault.errors import (
    BadResponse,
    BlockedAddress,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    NetworkError,
    TooLarge,
)
from newsvault.fetch.decompress import decode_body
from newsvault.fetch.guard import BlockedAddressOSError, GuardedResolver, check_url

USER_AGENT = f"newsvault/{__version__} (news archiver; +https://github.com/newsvault/newsvault)"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class FetchOptions:
    timeout: float = 30.0  # overall deadline for one attempt, redirects and body included
    connect_timeout: float = 10.0
    max_bytes: int = 15_000_000
    max_redirects: int = 5
    retries: int = 2
    backoff: float = 1.0
    concurrency: int = 16
    per_host: int = 2
    user_agent: str = USER_AGENT
    allow_private_networks: bool = False
    # Exact addresses allowed even when private ones are refused (tests use 127.0.0.1).
    allowed_addresses: frozenset[str] = frozenset()


@dataclass
class Response:
    url: str  # the URL that answered, after redirects
    status: int
    headers: CIMultiDictProxy[str]
    raw: bytes  # the body as it came over the wire (still content-encoded)
    body: bytes  # the body decoded from its Content-Encoding
    fetched: float  # unix time the response arrived
    history: list[Response] = field(default_factory=list)  # redirect hops, first first

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class Fetcher:
    """Use as `async with Fetcher(options) as fetcher: response = await fetcher.get(url)`."""

    def __init__(self, options: FetchOptions | None = None) -> None:
        self.options = options or FetchOptions()
        self._session: aiohttp.ClientSession | None = None
        self._global = asyncio.Semaphore(self.options.concurrency)
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(self.options.per_host)
        )

    async def __aenter__(self) -> Fetcher:
        opts = self.options
        connector = aiohttp.TCPConnector(
            resolver=GuardedResolver(
                allow_private=opts.allow_private_networks, allowed=opts.allowed_addresses
            ),
            limit=0,
            ttl_dns_cache=60,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=opts.connect_timeout),
            headers={
                "User-Agent": opts.user_agent,
                "Accept-Encoding": "gzip, deflate, br",
            },
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = "*/*",
    ) -> Response:
        """Fetch `url`. A 304 is returned; 4xx/5xx raise HTTPStatusError carrying the response."""
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        host = urlsplit(url).hostname or ""
        async with self._global, self._hosts[host]:
            attempt = 0
            while True:
                try:
                    return await self._attempt(url, headers)
                except (NetworkError, FetchTimeout, HTTPStatusError) as exc:
                    retryable = not isinstance(exc, HTTPStatusError) or exc.status in RETRY_STATUSES
                    if not retryable or attempt >= self.options.retries:
                        raise
                await asyncio.sleep(self.options.backoff * (2**attempt))
                attempt += 1

    async def _attempt(self, url: str, headers: dict[str, str]) -> Response:
        try:
            async with asyncio.timeout(self.options.timeout):
                return await self._follow(url, headers)
        except TimeoutError:
            raise FetchTimeout(
                url, f"no complete response within {self.options.timeout:g}s (fetch.timeout)"
            ) from None

    async def _follow(self, url: str, headers: dict[str, str]) -> Response:
        history: list[Response] = []
        current = url
        while True:
            check_url(
                current,
                allow_private=self.options.allow_private_networks,
                allowed=self.options.allowed_addresses,
            )
            response = await self._request(current, headers)
            location = response.headers.get("Location")
            if response.status not in REDIRECT_STATUSES or not location:
                break
            history.append(response)
            if len(history) > self.options.max_redirects:
                raise BadResponse(url, f"more than {self.options.max_redirects} redirects")
            current = urljoin(current, location)
        response.history = history
        if response.status >= 400:
            error = HTTPStatusError(url, response.status)
            error.response = response  # type: ignore[attr-defined]
            raise error
        return response

    async def _request(self, url: str, headers: dict[str, str]) -> Response:
        assert self._session is not None, "use Fetcher as an async context manager"
        limit = self.options.max_bytes
        try:
            async with self._session.get(url, headers=headers, allow_redirects=False) as resp:
                declared = resp.content_length
                if declared is not None and declared > limit:
                    raise TooLarge(
                        url,
                        f"Content-Length {declared:,} exceeds {limit:,} bytes (fetch.max_bytes)",
                    )
                raw = bytearray()
                async for chunk in resp.content.iter_chunked(1 << 16):
                    raw += chunk
                    if len(raw) > limit:
                        raise TooLarge(url, f"body exceeds {limit:,} bytes (fetch.max_bytes)")
                status, resp_headers = resp.status, resp.headers
        except aiohttp.ClientConnectorError as exc:
            blocked = _blocked_cause(exc)
            if blocked is not None:
                raise BlockedAddress(
                    url,
                    f"{blocked.host} resolves to {blocked.address}, a private address; "
                    "set fetch.allow_private_networks = true to allow it",
                ) from None
            raise NetworkError(url, f"cannot connect ({exc.os_error or exc})") from None
        except aiohttp.InvalidURL:
            raise BadResponse(url, "invalid URL") from None
        except aiohttp.ClientPayloadError as exc:
            raise NetworkError(url, f"the body was cut short ({_first_line(exc)})") from None
        except aiohttp.ClientResponseError as exc:
            raise BadResponse(url, f"malformed HTTP response ({_first_line(exc)})") from None
        except aiohttp.ClientError as exc:
            raise NetworkError(url, _first_line(exc) or type(exc).__name__) from None
        except ValueError as exc:  # yarl rejects some URLs with a bare ValueError
            raise BadResponse(url, f"invalid URL ({exc})") from None
        raw_bytes = bytes(raw)
        body = decode_body(url, raw_bytes, resp_headers.get("Content-Encoding"), limit)
        return Response(
            url=url,
            status=status,
            headers=CIMultiDictProxy(CIMultiDict(resp_headers)),
            raw=raw_bytes,
            body=body,
            fetched=time.time(),
        )


def _blocked_cause(exc: BaseException) -> BlockedAddressOSError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, BlockedAddressOSError):
            return seen
        nested = getattr(seen, "os_error", None)
        seen = nested if nested is not None and nested is not seen else seen.__cause__
    return None


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else ""


__all__ = ["FetchError", "FetchOptions", "Fetcher", "Response"]
