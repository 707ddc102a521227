"""robots.txt: whether newsvault may crawl a URL, and the Crawl-delay a site asks for.

Parsed with Protego (Scrapy's parser), which follows Google's reading of the format and RFC
9309: `*` and `$` wildcards, the longest matching rule wins (an `Allow` beats a shorter
`Disallow`), a group for our token replaces the `*` group. The standard library's
urllib.robotparser gets both wrong: it takes `*` literally and applies the first matching
rule, so `Disallow: /news/` before `Allow: /news/public/` refuses the public pages.

What an answer for robots.txt means, as RFC 9309 and Google's crawler documentation have it:

- 2xx: its rules, kept for ROBOTS_TTL (Google caches robots.txt for up to 24 hours).
- 4xx but 429 (404, 410, 403 ...): no rules, everything allowed, kept for ROBOTS_TTL.
- 5xx or 429: the server is in trouble, so nothing is crawled for now. This is Google's
  rule ("as if the site is fully disallowed") and RFC 9309's ("MUST assume complete
  disallow"); asked again after FAILURE_TTL. Where rules read earlier are known, they stay
  in use instead (Google uses its last cached copy too).
- No answer (refused, reset, DNS, timeout): everything allowed, asked again after
  FAILURE_TTL. Google counts these as server errors; we do not, because the request for the
  page that follows then fails with its own, truer reason (or works, when only robots.txt
  was slow), where a refusal would only name robots.txt.
- Larger than ROBOTS_MAX_BYTES, or unusable (a redirect loop, a corrupt encoding): no
  rules, kept for ROBOTS_TTL. RFC 9309 asks parsers to read at least 500 KiB; a file past
  that is not written for crawlers, and a hostile one must not cost more than that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import urlsplit

from protego import Protego

from newsvault.errors import BadResponse, FetchError, HTTPStatusError, TooLarge

ROBOTS_TOKEN = "newsvault"  # the user-agent token robots.txt groups are matched against
ROBOTS_MAX_BYTES = 500 * 1024
ROBOTS_TTL = 24 * 3600.0  # seconds a robots.txt (or its absence) is believed
FAILURE_TTL = 600.0  # seconds before a robots.txt that could not be had is asked for again
# A Crawl-delay longer than this is taken as this: a hostile or mistaken robots.txt
# ("Crawl-delay: 86400") must not stall a run for hours.
MAX_CRAWL_DELAY = 60.0
_SUBMITTED = "a URL submitted by a person is archived anyway"


@dataclass(frozen=True)
class RobotsRules:
    """What one origin's robots.txt says, and until when (time.monotonic()) it is believed."""

    host: str  # host[:port], as messages name it
    expires: float
    parser: Protego | None = None  # None: no rules, everything allowed
    unavailable: str | None = None  # set: every URL refused for now, with this reason

    def refusal(self, url: str) -> str | None:
        """Why newsvault must not crawl `url`, or None when it may."""
        if self.unavailable:
            return self.unavailable
        if self.parser is None or self.parser.can_fetch(url, ROBOTS_TOKEN):
            return None
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return f"robots.txt of {self.host} disallows {path} for {ROBOTS_TOKEN}; {_SUBMITTED}"

    @property
    def crawl_delay(self) -> float:
        """Seconds robots.txt asks between requests, at most MAX_CRAWL_DELAY; 0 when none."""
        delay = self.parser.crawl_delay(ROBOTS_TOKEN) if self.parser is not None else None
        if delay is None or math.isnan(delay) or delay <= 0:
            return 0.0
        return min(float(delay), MAX_CRAWL_DELAY)


def origin(url: str) -> str:
    """scheme://host[:port] of `url`, lowercased, without credentials: one robots.txt each."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}".lower()


def robots_url(url: str) -> str:
    return origin(url) + "/robots.txt"


def parse_robots(url: str, body: bytes, now: float) -> RobotsRules:
    """The rules of a robots.txt that was served (UTF-8, as RFC 9309 has it; a BOM is fine)."""
    text = body.decode("utf-8-sig", errors="replace")
    return RobotsRules(_host(url), now + ROBOTS_TTL, parser=Protego.parse(text))


def rules_after_error(
    url: str, error: FetchError, previous: RobotsRules | None, now: float
) -> RobotsRules:
    """What to believe when robots.txt was not served (see the module's docstring)."""
    host = _host(url)
    if isinstance(error, HTTPStatusError) and (error.status >= 500 or error.status == 429):
        if previous is not None and previous.parser is not None:
            return RobotsRules(host, now + FAILURE_TTL, parser=previous.parser)
        minutes = f"{FAILURE_TTL / 60:g} minutes"
        reason = (
            f"robots.txt of {host} answered HTTP {error.status}, which means crawl nothing "
            f"for now (RFC 9309); asked again after {minutes}; {_SUBMITTED}"
        )
        return RobotsRules(host, now + FAILURE_TTL, unavailable=reason)
    if isinstance(error, HTTPStatusError | TooLarge | BadResponse):
        return RobotsRules(host, now + ROBOTS_TTL)  # a 4xx, or a file no crawler can use
    return RobotsRules(host, now + FAILURE_TTL)  # no answer: refused, reset, DNS, timeout


def _host(url: str) -> str:
    return urlsplit(url).netloc.rsplit("@", 1)[-1].lower()
