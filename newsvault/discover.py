"""A new source, checked before it is followed: its URL fetched once (through the Fetcher,
with its address guard and the archive's fetch settings) and parsed as a feed; given a web
page instead, the feed the page names in its head is taken, as feed readers do:

    <link rel="alternate" type="application/rss+xml" href="/feed.xml">

(types application/rss+xml, application/atom+xml and application/feed+json; of several,
the first). `sources add` and POST /api/sources use it; OPML import does not (a file may
list hundreds of feeds).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import lxml.html
from lxml import etree

from newsvault.archive import Archive
from newsvault.errors import FeedError, FetchError, SourceError
from newsvault.feeds import Feed, parse_feed
from newsvault.fetch.charset import decode
from newsvault.fetch.client import Fetcher, FetchOptions, Response
from newsvault.links import web_url
from newsvault.models import Source
from newsvault.opml import make_slug
from newsvault.pipeline import FEED_ACCEPT

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S)


@dataclass(frozen=True)
class CheckedFeed:
    """What checking a URL found."""

    url: str  # the feed's URL: the one given, or the first feed its page names
    title: str | None  # the feed's own title
    home: str | None  # the outlet's site: the feed's <link>, else the page it was found in
    page: str | None = None  # the web page given instead of a feed, if one was
    links: tuple[str, ...] = ()  # every feed that page names, first first (the first taken)


def feed_links(body: bytes, content_type: str | None, base: str) -> list[str]:
    """The feeds a web page names with <link rel="alternate" type="…feed type…" href=…>,
    made absolute (against its <base href>, else `base`), in order, each once."""
    text = _XML_DECLARATION.sub("", decode(body, content_type).text, count=1)
    if not text.strip():
        return []
    try:
        root = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        return []
    for element in root.iter("base"):
        base = web_url(element.get("href"), base) or base
        break
    found: list[str] = []
    for element in root.iter("link"):
        rel = (element.get("rel") or "").lower().split()
        kind = (element.get("type") or "").split(";")[0].strip().lower()
        url = web_url((element.get("href") or "").strip(), base)
        if "alternate" in rel and kind in FEED_TYPES and url and url not in found:
            found.append(url)
    return found


async def check_feed(fetcher: Fetcher, url: str) -> CheckedFeed:
    """Fetch `url` once and read it as a feed, or as a page naming one (then that feed is
    fetched and read too); SourceError says in one line why it cannot be followed."""
    response = await _fetch(fetcher, url, url)
    try:
        feed = parse_feed(response.body, response.content_type, response.url)
    except FeedError as exc:
        links = feed_links(response.body, response.content_type, response.url)
        if not links:
            if _is_html(response):
                raise SourceError(
                    f'{url}: a web page that names no feed (no <link rel="alternate" '
                    f'type="application/rss+xml"> or Atom or JSON Feed link in its head); '
                    "give the feed's own URL"
                ) from None
            raise SourceError(f"{url}: {exc}") from None
        return await _named_feed(fetcher, url, links)
    return CheckedFeed(url=url, title=feed.title, home=_home(feed, url))


async def _named_feed(fetcher: Fetcher, page: str, links: list[str]) -> CheckedFeed:
    chosen = links[0]
    where = f"{page}: the feed it names, {chosen}"
    response = await _fetch(fetcher, chosen, where)
    try:
        feed = parse_feed(response.body, response.content_type, response.url)
    except FeedError as exc:
        raise SourceError(f"{where}: {exc}") from None
    return CheckedFeed(
        url=chosen,
        title=feed.title,
        home=_home(feed, chosen) or page,
        page=page,
        links=tuple(links),
    )


async def _fetch(fetcher: Fetcher, url: str, where: str) -> Response:
    try:
        # robots=False: a person chose to follow this feed, as feed readers do (and `run`)
        return await fetcher.get(url, accept=FEED_ACCEPT, robots=False)
    except FetchError as exc:
        said = exc.reason if exc.url == url else str(exc)  # a redirect's target named
        raise SourceError(f"{where}: {said}") from None


def _home(feed: Feed, url: str) -> str | None:
    return feed.link if feed.link and feed.link != url else None


def _is_html(response: Response) -> bool:
    kind = (response.content_type or "").split(";")[0].strip().lower()
    return kind in _HTML_TYPES or bool(_HTML_START.match(response.body[:4096]))


def check_feed_now(url: str, options: FetchOptions) -> CheckedFeed:
    """`check_feed` with a Fetcher of its own, from code that runs no event loop."""

    async def checking() -> CheckedFeed:
        async with Fetcher(options) as fetcher:
            return await check_feed(fetcher, url)

    return asyncio.run(checking())


def new_source(
    archive: Archive,
    url: str,
    *,
    name: str | None = None,
    slug: str | None = None,
    category: str | None = None,
    check: bool = True,
) -> tuple[Source, CheckedFeed | None]:
    """Follow `url`: checked first (see `check_feed`) unless not `check`, then added to
    newsvault.toml. The name defaults to the feed's title (unchecked: the host), the slug to
    one made from the host of `url` (see `make_slug`; a page's, not the feed host it names).
    Returns the source and what the check found."""
    url = url.strip()
    if not url.startswith(("http://", "https://")):
        raise SourceError(f"{url}: a source URL must start with http:// or https://")
    archive.refuse_new_source(url, slug)  # before any request: nothing fetched for nothing
    checked = check_feed_now(url, archive.settings.fetch_options()) if check else None
    feed_url = checked.url if checked else url
    title = (name or "").strip() or (checked.title if checked else None)
    taken = {s.slug for s in archive.sources()}
    source = Source(
        slug=slug or make_slug(url, taken, title=title),  # the site asked for, not its feed host
        name=title or urlsplit(feed_url).hostname or feed_url,
        url=feed_url,
        category=category,
        home=checked.home if checked else None,
    )
    archive.add_source(source)
    return source, checked
