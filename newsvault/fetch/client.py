"""The fetcher: every byte newsvault reads from the network comes through `Fetcher.get`.

One aiohttp session per run. Each request runs under an overall deadline (aiohttp's and
httpx's timeouts are inactivity timers that a trickling server defeats), reads the raw body
up to a size cap and decompresses it in bounded steps, follows redirects itself so that
every hop passes the SSRF guard, and retries network errors and 5xx with backoff (or after
the Retry-After a 429 or 503 names).

Politeness: before a host's first URL its robots.txt is read (once per origin, then cached;
see fetch/robots.py) and a URL it disallows is refused without a request (the URL asked
for: redirect targets are not checked), unless the caller passes `robots=False` (a URL a
person submitted, as the Wayback Machine's Save Page Now does). The starts of consecutive
requests to one host are at least `host_delay` apart, or the robots.txt Crawl-delay where
that is longer; `per_host` bounds those in flight.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from functools import cached_property
from typing import Self
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
    RobotsDisallowed,
    TooLarge,
)
from newsvault.fetch import robots as robots_txt
from newsvault.fetch.decompress import decode_body
from newsvault.fetch.guard import BlockedAddressOSError, GuardedResolver, check_url

USER_AGENT = f"newsvault/{__version__} (news archiver; +https://github.com/newsvault/newsvault)"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_AFTER_STATUSES = frozenset({429, 503})
# The longest Retry-After waited for; a server asking for more is given up on for this URL
# (one line naming the wait), so one overloaded host cannot hold a run for hours.
MAX_RETRY_AFTER = 120.0
# Where requests really go while something plays the web's part (see `routed`); None: to
# the URL itself.
_ROUTE: ContextVar[Callable[[str], str] | None] = ContextVar("route", default=None)


@contextmanager
def routed(route: Callable[[str], str]) -> Iterator[None]:
    """Send each request made meanwhile (in this context: this thread and the tasks it
    starts) to `route(url)` instead of `url`: the demo's loopback server plays the sites it
    recorded. All else keeps the URL asked for: the guard, robots.txt, the response, its
    capture and errors; only no host's turn is waited for, the hosts never being asked."""
    token = _ROUTE.set(route)
    try:
        yield
    finally:
        _ROUTE.reset(token)


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
    host_delay: float = 1.0  # seconds between the starts of two requests to one host
    respect_robots: bool = True
    user_agent: str = USER_AGENT
    allow_private_networks: bool = False
    # Exact addresses allowed even when private ones are refused (tests use 127.0.0.1).
    allowed_addresses: frozenset[str] = frozenset()


def body_digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


@dataclass
class Response:
    url: str  # the URL that answered, after redirects
    status: int
    headers: CIMultiDictProxy[str]
    raw: bytes  # the body as it came over the wire (still content-encoded)
    body: bytes  # the body decoded from its Content-Encoding
    fetched: float  # unix time the response arrived
    history: list[Response] = field(default_factory=list)  # redirect hops, first first
    request_headers: dict[str, str] = field(default_factory=dict)  # what was sent for it

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")

    @cached_property
    def digest(self) -> str:
        """The body's SHA-256 (`sha256:` and hex), as captures store it: once a response,
        however many stages ask (the batch's dedup, the capture record)."""
        return body_digest(self.body)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class GuardedClient:
    """A guarded session (`guarded_session`) held for the length of an `async with`."""

    def __init__(self, options: FetchOptions | None = None) -> None:
        self.options = options or FetchOptions()
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        self._session = guarded_session(self.options)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class Fetcher(GuardedClient):
    """Use as `async with Fetcher(options) as fetcher: response = await fetcher.get(url)`."""

    def __init__(self, options: FetchOptions | None = None) -> None:
        super().__init__(options)
        self._global = asyncio.Semaphore(self.options.concurrency)
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(self.options.per_host)
        )
        self._robots: dict[str, robots_txt.RobotsRules] = {}  # by origin
        self._robots_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._last_start: dict[str, float] = {}  # by host: time.monotonic() of the last start
        self._hold: dict[str, float] = {}  # by host: no request before (a Retry-After)

    async def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = "*/*",
        robots: bool = True,
        max_bytes: int | None = None,
    ) -> Response:
        """Fetch `url`. A 304 is returned; 4xx/5xx raise HTTPStatusError carrying the response.

        With `robots` (and fetch.respect_robots) a URL the site's robots.txt disallows raises
        RobotsDisallowed without being requested; pass robots=False for a URL a person asked
        for by hand. `max_bytes` lowers fetch.max_bytes for this URL (an image to mirror).
        """
        opts = self.options
        check_url(url, allow_private=opts.allow_private_networks, allowed=opts.allowed_addresses)
        if robots and opts.respect_robots:
            refusal = (await self._robots_rules(url)).refusal(url)
            if refusal:
                raise RobotsDisallowed(url, refusal)
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        limit = opts.max_bytes if max_bytes is None else min(opts.max_bytes, max_bytes)
        return await self._get(url, headers, limit)

    async def _robots_rules(self, url: str) -> robots_txt.RobotsRules:
        """The robots.txt rules for `url`'s origin: read once, then again when they expire."""
        key = robots_txt.origin(url)
        async with self._robots_locks[key]:  # concurrent URLs of one site wait for one read
            known = self._robots.get(key)
            if known is not None and known.expires > time.monotonic():
                return known
            where = robots_txt.robots_url(url)
            try:
                response = await self._get(
                    where, {"Accept": "text/plain"}, robots_txt.ROBOTS_MAX_BYTES
                )
            except FetchError as exc:
                rules = robots_txt.rules_after_error(where, exc, known, time.monotonic())
            else:
                rules = robots_txt.parse_robots(where, response.body, time.monotonic())
            self._robots[key] = rules
            return rules

    async def _get(self, url: str, headers: dict[str, str], limit: int) -> Response:
        # The host's slot first, then a global one: requests queued for a busy host do not
        # hold global slots that other hosts could use. Retries wait holding the host's only.
        host = urlsplit(url).hostname or ""
        async with self._hosts[host]:
            attempt = 0
            while True:
                try:
                    async with self._global:
                        return await self._attempt(url, headers, limit)
                except (NetworkError, FetchTimeout, HTTPStatusError) as exc:
                    retryable = not isinstance(exc, HTTPStatusError) or exc.status in RETRY_STATUSES
                    if not retryable or attempt >= self.options.retries:
                        raise
                    wait = self._retry_wait(url, host, exc, attempt)
                await asyncio.sleep(wait)
                attempt += 1

    def _retry_wait(self, url: str, host: str, exc: FetchError, attempt: int) -> float:
        """Seconds before the next attempt: the backoff, or longer where a 429 or 503 says
        Retry-After (then every request to the host waits as long)."""
        wait = self.options.backoff * (2**attempt)
        response = getattr(exc, "response", None)
        if not isinstance(exc, HTTPStatusError) or exc.status not in RETRY_AFTER_STATUSES:
            return wait
        asked = retry_after(response.headers.get("Retry-After")) if response else None
        if asked is None:
            return wait
        if asked > MAX_RETRY_AFTER:
            error = HTTPStatusError(
                url,
                exc.status,
                f"HTTP {exc.status} asking to retry after {asked:,.0f}s (Retry-After), longer "
                f"than the {MAX_RETRY_AFTER:g}s newsvault waits; not retried",
            )
            error.response = response  # type: ignore[attr-defined]
            raise error from None
        self._hold[host] = max(self._hold.get(host, 0.0), time.monotonic() + asked)
        return max(wait, asked)

    def _reserve_start(self, url: str) -> float:
        """Claim the next start for a request to `url`'s host; the seconds to wait for it.

        The gap is fetch.host_delay or the origin's Crawl-delay, whichever is longer, and a
        Retry-After holds the host. Called right before the request goes out (with every
        other slot already held); nothing awaits between reading and writing the host's
        last start, so concurrent tasks of one event loop each get their own turn.
        """
        if _ROUTE.get() is not None:  # a stand-in answers (see `routed`): no site to spare
            return 0.0
        host = urlsplit(url).hostname or ""
        rules = self._robots.get(robots_txt.origin(url))
        gap = max(self.options.host_delay, rules.crawl_delay if rules else 0.0)
        now = time.monotonic()
        last = self._last_start.get(host)
        start = max(now, self._hold.get(host, now), now if last is None else last + gap)
        self._last_start[host] = start
        return start - now

    async def _attempt(self, url: str, headers: dict[str, str], limit: int) -> Response:
        try:
            async with asyncio.timeout(self.options.timeout) as deadline:
                return await self._follow(url, headers, limit, deadline)
        except TimeoutError:
            raise FetchTimeout(
                url, f"no complete response within {self.options.timeout:g}s (fetch.timeout)"
            ) from None

    async def _follow(
        self, url: str, headers: dict[str, str], limit: int, deadline: asyncio.Timeout
    ) -> Response:
        history: list[Response] = []
        current = url
        while True:
            check_url(
                current,
                allow_private=self.options.allow_private_networks,
                allowed=self.options.allowed_addresses,
            )
            wait = self._reserve_start(current)
            if wait > 0:  # waiting for the host's turn is not part of the response's deadline
                deadline.reschedule((deadline.when() or 0.0) + wait)
                await asyncio.sleep(wait)
            response = await self._request(current, headers, limit)
            location = response.headers.get("Location")
            if response.status not in REDIRECT_STATUSES or not location:
                break
            history.append(response)
            if len(history) > self.options.max_redirects:
                raise BadResponse(url, f"more than {self.options.max_redirects} redirects")
            current = urljoin(current, location)
        return answered(url, response, history)

    async def _request(self, url: str, headers: dict[str, str], limit: int) -> Response:
        assert self._session is not None, "use Fetcher as an async context manager"
        route = _ROUTE.get()
        target = route(url) if route else url
        try:
            async with self._session.get(target, headers=headers, allow_redirects=False) as resp:
                declared = resp.content_length
                if declared is not None and declared > limit:
                    raise TooLarge(
                        url,
                        f"Content-Length {declared:,} exceeds {limit:,} bytes (fetch.max_bytes)",
                    )
                raw = await read_capped(resp, url, limit)
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
        body = decode_body(url, raw, resp_headers.get("Content-Encoding"), limit)
        return Response(
            url=url,
            status=status,
            headers=CIMultiDictProxy(CIMultiDict(resp_headers)),
            raw=raw,
            body=body,
            fetched=time.time(),
            request_headers={
                "Host": urlsplit(url).netloc,
                **self._session.headers,
                **headers,
            },
        )


def guarded_session(opts: FetchOptions) -> aiohttp.ClientSession:
    """An aiohttp session whose every address goes through the SSRF guard, with no cookies,
    bodies left encoded (decoded in bounded steps), the connect timeout and User-Agent."""
    connector = aiohttp.TCPConnector(
        resolver=GuardedResolver(
            allow_private=opts.allow_private_networks, allowed=opts.allowed_addresses
        ),
        limit=0,
        ttl_dns_cache=60,
    )
    return aiohttp.ClientSession(
        connector=connector,
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=opts.connect_timeout),
        headers={
            "User-Agent": opts.user_agent,
            "Accept-Encoding": "gzip, deflate, br",
        },
    )


async def read_capped(resp: aiohttp.ClientResponse, url: str, limit: int) -> bytes:
    """The body as it comes over the wire, refused as soon as it passes `limit` bytes."""
    raw = bytearray()
    async for chunk in resp.content.iter_chunked(1 << 16):
        raw += chunk
        if len(raw) > limit:
            raise TooLarge(url, f"body exceeds {limit:,} bytes (fetch.max_bytes)")
    return bytes(raw)


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds a Retry-After header asks to wait (delta-seconds or an HTTP-date; a date in
    the past is 0), or None when there is none or it cannot be read."""
    value = (value or "").strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": RFC 9110 dates are in GMT anyway
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


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


__all__ = [
    "FetchError",
    "FetchOptions",
    "Fetcher",
    "Response",
    "guarded_session",
    "retry_after",
    "routed",
]


def answered(url: str, response: Response, history: list[Response]) -> Response:
    """The response `url` ended with after the redirects in `history`; an error status raises
    HTTPStatusError carrying it (the fetcher's, and the rebuild's replay of captures)."""
    response.history = history
    if response.status >= 400:
        error = HTTPStatusError(url, response.status)
        error.response = response  # type: ignore[attr-defined]
        raise error
    return response
