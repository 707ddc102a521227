"""Calls to the web APIs newsvault talks to on its user's behalf: GitHub's REST API (intake)
and the Wayback Machine's Save Page Now. Pages are never fetched here (they go through
`Fetcher.get`); these are requests with a method, headers and a body of their own, under the
fetcher's limits all the same: the SSRF guard on every address (the resolver's answers and
IP literals, redirects included), the overall deadline, the body cap, the User-Agent, and
fetch.host_delay between the starts of two requests to one host.

Every answer is returned, whatever its status: what a 403 or a 429 means is the API's to say
(a rate limit, a token refused), so the caller reads it. Network failures raise FetchError.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from newsvault.errors import BadResponse, BlockedAddress, FetchTimeout, NetworkError
from newsvault.fetch.client import (
    REDIRECT_STATUSES,
    FetchOptions,
    GuardedClient,
    _blocked_cause,
    read_capped,
)
from newsvault.fetch.decompress import decode_body
from newsvault.fetch.guard import check_url


@dataclass
class ApiResponse:
    url: str
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON; BadResponse when it is not."""
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise BadResponse(self.url, f"HTTP {self.status}: the answer is not JSON") from None


class ApiClient(GuardedClient):
    """`async with ApiClient(options) as api: response = await api.request("GET", url)`."""

    def __init__(self, options: FetchOptions, headers: dict[str, str] | None = None) -> None:
        super().__init__(options)
        self.headers = dict(headers or {})
        self._last_start: dict[str, float] = {}
        self._turns: dict[str, asyncio.Lock] = {}

    async def request(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> ApiResponse:
        """One call; a GET follows redirects (each hop through the guard), others do not."""
        sent = {**self.headers, **(headers or {})}
        current = url
        for _ in range(self.options.max_redirects + 1):
            response = await self._once(method, current, json_body, form, sent)
            location = response.headers.get("Location")
            if method != "GET" or response.status not in REDIRECT_STATUSES or not location:
                return response
            current = urljoin(current, location)
        raise BadResponse(url, f"more than {self.options.max_redirects} redirects")

    async def _once(
        self, method: str, url: str, json_body: Any, form: dict[str, str] | None,
        headers: dict[str, str],
    ) -> ApiResponse:  # fmt: skip
        assert self._session is not None, "use ApiClient as an async context manager"
        opts = self.options
        check_url(url, allow_private=opts.allow_private_networks, allowed=opts.allowed_addresses)
        await self._take_turn(urlsplit(url).hostname or "")
        limit = opts.max_bytes
        try:
            async with asyncio.timeout(opts.timeout):
                async with self._session.request(
                    method, url, json=json_body, data=form, headers=headers,
                    allow_redirects=False,
                ) as resp:  # fmt: skip
                    raw = await read_capped(resp, url, limit)
                    status, resp_headers = resp.status, resp.headers
        except TimeoutError:
            raise FetchTimeout(
                url, f"no complete response within {opts.timeout:g}s (fetch.timeout)"
            ) from None
        except aiohttp.ClientConnectorError as exc:
            blocked = _blocked_cause(exc)
            if blocked is not None:
                raise BlockedAddress(url, f"{blocked}; not asked") from None
            raise NetworkError(url, f"cannot connect ({exc.os_error or exc})") from None
        except aiohttp.ClientError as exc:
            raise NetworkError(url, str(exc).strip() or type(exc).__name__) from None
        body = decode_body(url, raw, resp_headers.get("Content-Encoding"), limit)
        return ApiResponse(url, status, CIMultiDictProxy(CIMultiDict(resp_headers)), body)

    async def _take_turn(self, host: str) -> None:
        """Wait until fetch.host_delay has passed since the last request to `host` began."""
        async with self._turns.setdefault(host, asyncio.Lock()):
            last = self._last_start.get(host)
            wait = 0.0 if last is None else last + self.options.host_delay - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_start[host] = time.monotonic()


_LINK = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,=\s]+\s*=\s*(?:\"[^\"]*\"|[^;,\s]*))*)")
_LINK_PARAM = re.compile(r";\s*([^;,=\s]+)\s*=\s*(?:\"([^\"]*)\"|([^;,\s]*))")


def parse_links(text: str) -> list[tuple[str, dict[str, str]]]:
    """Web links as RFC 8288 writes them (an HTTP Link header, a Memento TimeMap in
    application/link-format): (URL, parameters with lowercase names) in order."""
    links = []
    for match in _LINK.finditer(text):
        params = {
            name.lower(): quoted or bare
            for name, quoted, bare in _LINK_PARAM.findall(match.group(2))
        }
        links.append((match.group(1).strip(), params))
    return links
