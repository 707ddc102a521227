"""Archiving pages: a URL (or a saved copy of one) -> fetch -> capture -> extract -> store.

The "submit a URL" flow, and the full-text fetch of feed items that carry only a summary.
Each page's raw response is kept whatever comes of it; what came of it (a new article, an
unchanged or edited one, or "no article found: <reason>") is recorded in the `pages` table.
An archived page goes under the source its site rule names, else one made from its host.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import overload
from urllib.parse import urlsplit

from multidict import CIMultiDict, CIMultiDictProxy

from newsvault.archive import Archive
from newsvault.captures import CaptureRef, CaptureWriter, Fields
from newsvault.errors import FetchError, HTTPStatusError, NewsvaultError, NoArticle, describe
from newsvault.extract import Extraction, RuleSet, extract, read_file
from newsvault.extract.rules import PACKAGE_RULES
from newsvault.fetch.client import Fetcher, Response
from newsvault.ingest import catch_up, mirror_stored
from newsvault.models import RESERVED_SLUGS, Article, to_ms
from newsvault.normalize import canonical_url
from newsvault.recover.queue import queue_after_failure
from newsvault.store import Store
from newsvault.warcs import is_warc
from newsvault.watch.health import note_page
from newsvault.watch.history import keep_page_version

PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"


@dataclass
class PageReport:
    url: str
    # new | unchanged | edited | first page (of an article archived from its feed's text,
    # kept beside it) | no article found: … | failed: …
    outcome: str
    article: Article | None = None

    @property
    def failed(self) -> bool:
        return self.article is None


def archive_rules(archive: Archive) -> RuleSet:
    return RuleSet.load(archive.root / "rules", PACKAGE_RULES)


def capture_writer(archive: Archive, store: Store) -> CaptureWriter:
    """A writer of this process's capture files, after what the database holds of them. On
    PostgreSQL, which processes on other machines may share, the files carry this host's
    name."""
    rotate = archive.settings["captures.rotate_bytes"]
    host = socket.gethostname() if archive.settings["database"] else ""
    return CaptureWriter(
        archive.captures_dir,
        store.committed_capture_ends(),
        rotate,
        host,
        archive.settings["captures.compression"],
    )


def check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NewsvaultError(f"{url!r} is not an http(s) URL; give the page's full address")
    return url.strip()


def archive_pages(
    archive: Archive,
    urls: list[str],
    *,
    from_file: Path | None = None,
    on_done: Callable[[PageReport], None] | None = None,
) -> list[PageReport]:
    """Archive each URL once (or the saved file as the capture of the one URL given)."""
    urls = [check_url(u) for u in urls]
    saved = None
    if from_file is not None:
        if len(urls) != 1:
            raise NewsvaultError("--from-file archives one page: give exactly one URL")
        try:
            saved = read_file(from_file.read_bytes())
        except OSError as exc:
            raise NewsvaultError(f"{from_file}: cannot read ({exc.strerror})") from None
        if is_warc(saved):  # many pages, not one: told by its content, whatever its name
            raise NewsvaultError(
                f"{from_file}: a WARC file, not a saved page; import its pages with "
                f"`newsvault import-warc {from_file}`"
            )
    store = archive.store(durable=True)  # a person is told it is archived
    try:
        reports = asyncio.run(_archive_all(archive, store, urls, saved, on_done))
        stored = [r.article.id for r in reports if r.article is not None and r.article.id]
        images = mirror_stored(archive, store, stored, now=to_ms(time.time()))
        catch_up(archive, store, rewrite=images.articles)
    finally:
        store.close()
    return reports


async def _archive_all(archive, store, urls, saved, on_done) -> list[PageReport]:
    rules = archive_rules(archive)
    writer = capture_writer(archive, store)

    async def one(url: str) -> PageReport:
        if saved is not None:
            report = archive_response(store, writer, rules, saved_response(url, saved))
        else:
            report = await archive_url(fetcher, store, writer, rules, url)
        if on_done:
            on_done(report)
        return report

    try:
        async with Fetcher(archive.settings.fetch_options()) as fetcher:
            return list(await asyncio.gather(*(one(url) for url in urls)))
    finally:
        writer.close()


async def archive_url(
    fetcher: Fetcher, store: Store, writer: CaptureWriter, rules: RuleSet, url: str
) -> PageReport:
    """Fetch the page a person asked for and archive it. It is archived even where
    robots.txt disallows crawling, as the Wayback Machine's Save Page Now does."""
    response = await fetch_page(fetcher, store, writer, url, seen=to_ms(time.time()), robots=False)
    if isinstance(response, str):
        return PageReport(url, response)
    return archive_response(store, writer, rules, response)


# -- the steps every page goes through: a submitted URL, a feed item's page --------------------


@dataclass
class PageLook:
    """A fetched page, kept as a capture, and the article found in it (None: `outcome`
    says why not)."""

    response: Response
    capture_id: int
    found: Extraction | None
    outcome: str
    error: Exception | None = None


async def fetch_page(
    fetcher: Fetcher, store: Store, writer: CaptureWriter, url: str, *, seen: int, robots: bool
) -> Response | str:
    """GET a page; on failure the error page is kept (a 404 page is evidence too), the
    failure recorded against the URL and returned as "failed: <reason>"."""
    try:
        return await fetcher.get(url, accept=PAGE_ACCEPT, robots=robots)
    except FetchError as exc:
        keep_error_page(store, writer, exc)
        outcome = f"failed: {exc.reason}"
        store.record_page(url, outcome, seen=seen, capture_id=None, article_id=None)
        queue_after_failure(store, url, exc, now=seen)  # a copy may be in a web archive
        return outcome


def look_at(
    store: Store, writer: CaptureWriter, rules: RuleSet, response: Response, *,
    read_as: str | None = None,
) -> PageLook:  # fmt: skip
    """Keep the response (and the redirects before it) as captures and extract its article
    (read as the page at `read_as`, where given: a web archive's copy at its public address,
    which extraction unwraps into the original's). No article, or an extractor failing on
    this one page, is an outcome, not an exception; that outcome is recorded against the
    URL."""
    for hop in response.history:
        keep_capture(store, writer, hop)
    capture_id = keep_capture(store, writer, response)
    try:
        found = extract(response.body, read_as or response.url, response.content_type, rules=rules)
    except Exception as exc:
        outcome = page_outcome(exc)
        store.record_page(
            response.url, outcome, seen=to_ms(response.fetched), capture_id=capture_id,
            article_id=None,
        )  # fmt: skip
        return PageLook(response, capture_id, None, outcome, exc)
    return PageLook(response, capture_id, found, "found")


def page_outcome(exc: Exception) -> str:
    """What came of a page its article could not be extracted from, in a few words."""
    return str(exc) if isinstance(exc, NoArticle) else f"failed: {describe(exc)}"


def saved_response(url: str, body: bytes) -> Response:
    """A page saved from a browser, kept as if it were the response for `url`."""
    headers = CIMultiDict(
        {"Content-Type": "text/html", "X-Newsvault-Origin": "saved file, not fetched"}
    )
    return Response(
        url=url,
        status=200,
        headers=CIMultiDictProxy(headers),
        raw=body,
        body=body,
        fetched=time.time(),
    )


def archive_response(
    store: Store, writer: CaptureWriter, rules: RuleSet, response: Response
) -> PageReport:
    """Archive one page: a new article, or a look at one archived before (from a feed or on
    request), which stays in the source that has it. Its page is compared with the last
    page seen of it, never with a feed's text: a changed page is a new version."""
    look = look_at(store, writer, rules, response)
    fetched, capture_id, found = to_ms(response.fetched), look.capture_id, look.found
    if found is None:
        rule = rules.match(response.url)
        slug = rule.slug if rule else host_slug(response.url)
        note_page(store, slug, look.error or NoArticle(look.outcome), now=fetched)
        return PageReport(response.url, look.outcome)
    known = store.article_by_url(canonical_url(found.url), found.url, response.url)
    if known is not None:
        note_page(store, known.source, found, now=fetched)
        outcome = keep_page_version(store, known, found, capture_id, fetched)
        article = known
    else:
        rule = rules.match(found.url)
        note_page(store, rule.slug if rule else host_slug(found.url), found, now=fetched)
        article, outcome = store_found(store, rules, found, fetched, capture_id)
    store.record_page(
        response.url, outcome, seen=fetched, capture_id=capture_id, article_id=article.id
    )
    return PageReport(found.url, outcome, article)


def store_found(
    store: Store,
    rules: RuleSet,
    found: Extraction,
    fetched: int,
    capture_id: int | None,
    *,
    source: tuple[str, str] | None = None,
) -> tuple[Article, str]:
    """A new article of what a page held, under `source` (slug, name) where given, else
    the source its site rule names, else one named after its host: (it, "new"); or (the
    one another process stored meanwhile, "unchanged")."""
    rule = rules.match(found.url)
    slug = rule.slug if rule else host_slug(found.url)
    name = rule.name if rule else (urlsplit(found.url).hostname or slug)
    if source is not None:
        slug, name = source
    source_id = store.ensure_source(slug, name)
    article = to_article(found, slug, fetched, capture_id)
    added = store.add_articles(source_id, [article], capture_id)
    if added.new:
        return article, "new"
    return store.article_by_key(slug, article.key) or article, "unchanged"


_SECOND_LEVEL = {"com", "net", "org", "gov", "edu", "co", "ac"}


def host_slug(url: str) -> str:
    """The site's name from its host: news.sina.com.cn -> sina, www.bbc.co.uk -> bbc."""
    host = (urlsplit(url).hostname or "page").lower()
    if re.fullmatch(r"[\d.]+|[\da-f:]+", host):  # an address, not a name
        return re.sub(r"[.:]+", "-", host).strip("-")
    labels = [x for x in host.split(".") if x != "www"]
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2:
        labels = labels[:-1]
    name = labels[-2] if len(labels) >= 2 else labels[0]
    if name in RESERVED_SLUGS:  # index.hu -> index-hu; a bare host "all" -> all-page
        name += "-" + (labels[-1] if len(labels) >= 2 else "page")
    return re.sub(r"[^a-z0-9_-]+", "-", name).strip("-") or "page"


def to_article(found: Extraction, slug: str, fetched: int, capture_id: int | None) -> Article:
    url = canonical_url(found.url)  # tracking parameters dropped
    return Article(
        source=slug,
        key=url,
        url=url,
        aliases=(found.url,) if url != found.url else (),
        title=found.title,
        html=found.html,
        text=found.text,
        published=found.published or fetched,
        fetched=fetched,
        author=found.author,
        origin=found.origin,
        editor=found.editor,
        photographer=found.photographer,
        lang=found.lang,
        images=found.images,
        capture_id=capture_id,
    )


@overload
def keep_capture(
    store: Store, writer: CaptureWriter, response: Response, *, fields: Fields = None
) -> int: ...


@overload
def keep_capture(
    store: Store, writer: CaptureWriter, response: Response, *, commit: bool, fields: Fields = None
) -> CaptureRef | int: ...


def keep_capture(
    store: Store,
    writer: CaptureWriter,
    response: Response,
    *,
    commit: bool = True,
    fields: Fields = None,
) -> CaptureRef | int:
    """The capture of `response`: an existing one with the same bytes, or a new WARC record
    (stored now, or with the articles when `commit` is False) carrying `fields`, WARC
    headers of newsvault's own saying what it was taken for (`captures.py`)."""
    existing = store.find_capture(response.url, response.digest)
    if existing is not None:
        return existing
    ref = writer.write(response, fields)
    return store.add_capture(ref) if commit else ref


def keep_error_page(
    store: Store, writer: CaptureWriter, exc: FetchError, *, fields: Fields = None
) -> int | None:
    """The capture of the page an HTTP error came with, if any: a 404 page is evidence too."""
    failed = getattr(exc, "response", None) if isinstance(exc, HTTPStatusError) else None
    return keep_capture(store, writer, failed, fields=fields) if failed is not None else None
