"""The run: every source's feed fetched once, its new items archived, the re-checks that are
due done, the images of what was stored mirrored, the markdown written.

Per source, top to bottom: fetch (conditional GET) -> keep the raw capture -> parse the
feed -> normalize each item -> store new items in one transaction -> remember the ETag.
A failing source is recorded with its reason and never stops the others.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from newsvault.archive import Archive
from newsvault.captures import ROLE, SOURCE, CaptureRef, CaptureWriter
from newsvault.errors import FeedError, FetchError, describe
from newsvault.extract import RuleSet, extract
from newsvault.feeds import Feed, FeedItem, parse_feed
from newsvault.fetch.client import Fetcher, Response
from newsvault.ingest import catch_up, mirror_due
from newsvault.models import Article, Source, to_ms
from newsvault.normalize import (
    canonical_url,
    find_origin,
    language_tag,
    merge_images,
    sanitize_html,
    text_and_images,
)
from newsvault.pages import (
    archive_rules,
    capture_writer,
    fetch_page,
    keep_capture,
    keep_error_page,
    page_outcome,
)
from newsvault.publish.images import MirrorReport
from newsvault.publish.markdown import PublishResult
from newsvault.store import SourceState, Store
from newsvault.store.db import content_hash
from newsvault.store.health import Outcome
from newsvault.watch.health import note_poll, page_outcomes
from newsvault.watch.history import FULL_TEXT_CHARS
from newsvault.watch.recheck import CheckReport, recheck_due

BATCH = 200  # items converted and stored per transaction
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)


@dataclass
class SourceReport:
    slug: str
    name: str
    new: int = 0
    unchanged: int = 0
    edited: int = 0
    error: str | None = None
    not_modified: bool = False
    full_text: int = 0  # items whose article was fetched from its page
    pages_failed: int = 0  # pages wanted for full text that could not be had: summary kept
    skipped: list[str] = field(default_factory=list)  # items not archived, one line each
    deferred: int = 0  # new items past fetch.max_items, left for the next poll
    changed: list[int] = field(default_factory=list)  # ids of new and edited articles

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def status(self) -> str:
        """A few words: what came of this source (the reasons are in `details`)."""
        if self.error is not None:
            return "failed"
        notes = ["not modified" if self.not_modified else "ok"]
        if self.pages_failed:
            notes.append(
                f"{self.pages_failed} {'page' if self.pages_failed == 1 else 'pages'} failed"
            )
        if self.skipped:
            notes.append(f"{len(self.skipped)} skipped")
        if self.deferred:
            notes.append(f"{self.deferred} left for the next poll")
        return ", ".join(notes)

    def details(self, most: int) -> list[str]:
        """Whole lines on what went wrong, at most `most` of the skipped items."""
        lines = [f"{self.slug}: failed: {self.error}"] if self.error else []
        if self.pages_failed:
            pages = "article page" if self.pages_failed == 1 else "article pages"
            lines.append(
                f"{self.slug}: {self.pages_failed} {pages} could not be fetched or held "
                "no article; the feed's text was kept (see `newsvault show ID`)"
            )
        lines += [f"{self.slug}: skipped {reason}" for reason in self.skipped[:most]]
        if len(self.skipped) > most:
            more = len(self.skipped) - most
            lines.append(f"{self.slug}: skipped {more} more {'item' if more == 1 else 'items'}")
        if self.deferred:
            items = "new item" if self.deferred == 1 else "new items"
            lines.append(
                f"{self.slug}: {self.deferred} {items} past fetch.max_items left for the next poll"
            )
        return lines


@dataclass
class RunReport:
    sources: list[SourceReport]
    published: PublishResult
    rechecks: list[CheckReport] = field(default_factory=list)  # the re-checks that were due
    images: MirrorReport = field(default_factory=MirrorReport)  # the image jobs that were due

    @property
    def failed(self) -> list[SourceReport]:
        return [s for s in self.sources if s.failed]

    @property
    def new(self) -> int:
        return sum(s.new for s in self.sources)


def run(
    archive: Archive,
    sources: list[Source],
    on_source_done: Callable[[SourceReport], None] | None = None,
) -> RunReport:
    """Archive every source once, do the re-checks that are due, mirror the images of what
    was stored (a failed image never fails its article: it keeps its original URL), then
    write the markdown."""
    store = archive.store()
    try:
        reports = asyncio.run(_run_all(archive, store, sources, on_source_done))
        rechecks = recheck_due(archive, store, now=to_ms(time.time()))
        images = mirror_due(archive, store, now=to_ms(time.time()))
        published = catch_up(archive, store, rewrite=images.articles)
    finally:
        store.close()
    return RunReport(sources=reports, published=published, rechecks=rechecks, images=images)


async def _run_all(
    archive: Archive,
    store: Store,
    sources: list[Source],
    on_source_done: Callable[[SourceReport], None] | None,
) -> list[SourceReport]:
    states = store.source_states()
    writer = capture_writer(archive, store)
    reports: dict[str, SourceReport] = {}
    rules = archive_rules(archive)

    max_items = archive.settings["fetch.max_items"]

    async def one(source: Source) -> None:
        report = await archive_source(
            fetcher, store, writer, rules, source, states.get(source.slug), max_items
        )
        reports[source.slug] = report
        if on_source_done:
            on_source_done(report)

    try:
        async with Fetcher(archive.settings.fetch_options()) as fetcher:
            await asyncio.gather(*(one(source) for source in sources))
    finally:
        writer.close()
    return [reports[s.slug] for s in sources]


async def archive_source(
    fetcher: Fetcher,
    store: Store,
    writer: CaptureWriter,
    rules: RuleSet,
    source: Source,
    state: SourceState | None,
    max_items: int,
) -> SourceReport:
    """Poll one source's feed and archive its new items; failures are in the report."""
    report = SourceReport(slug=source.slug, name=source.name)
    source_id = store.ensure_source(source.slug, source.name, source.url)
    now = to_ms(time.time())
    fields = {ROLE: "feed", SOURCE: source.slug}  # what `rebuild` replays it as
    if not source.url:
        report.error = "no url in newsvault.toml"
        store.record_fetch(source_id, now=now, error=report.error)
        return report
    try:
        response = await fetcher.get(
            source.url,
            etag=state.etag if state else None,
            last_modified=state.last_modified if state else None,
            accept=FEED_ACCEPT,
            robots=False,  # a person chose to follow this feed, as feed readers do
        )
    except FetchError as exc:
        keep_error_page(store, writer, exc, fields=fields)
        report.error = exc.reason
        store.record_fetch(source_id, now=now, error=report.error)
        return report
    for hop in response.history:
        keep_capture(store, writer, hop, fields=fields)
    if response.not_modified:
        report.not_modified = True
        store.record_fetch(source_id, now=now)
        note_poll(store, source.slug, 0, True, now)
        return report
    capture = keep_capture(store, writer, response, commit=False, fields=fields)
    try:
        feed = parse_feed(response.body, response.content_type, response.url)
    except FeedError as exc:
        if isinstance(capture, CaptureRef):
            store.add_capture(capture)
        report.error = str(exc)
        store.record_fetch(source_id, now=now, error=report.error)
        return report
    fetched = to_ms(response.fetched)
    capture_id = capture if isinstance(capture, int) else store.add_capture(capture)
    report.skipped = list(feed.skipped)
    known = store.known_keys(source_id, feed.items)
    items = _taken(feed.items, known, max_items, fetched, report)
    for start in range(0, len(items), BATCH):  # bounded memory, a transaction per batch
        pairs: list[tuple[FeedItem, Article]] = []
        for item in items[start : start + BATCH]:
            try:
                pairs.append((item, to_article(item, feed, source.slug, fetched)))
            except Exception as exc:  # one bad item never stops the rest of its feed
                report.skipped.append(f"{item.url or item.key}: {describe(exc)}")
        wanted = [
            article
            for item, article in pairs
            if source.fetch_full != "never"
            and item.key not in known
            and item.url not in known
            and article.url
            and (source.fetch_full == "always" or item.is_summary or _short(article.text))
        ]
        pages = _PageRows()
        filled = await asyncio.gather(
            *(_fill_from_page(fetcher, store, writer, rules, a, pages) for a in wanted)
        )
        pages.store(store, now=fetched)
        report.full_text += sum(filled)
        report.pages_failed += len(filled) - sum(filled)
        added = store.add_articles(source_id, [article for _, article in pairs], capture_id)
        report.new += len(added.new)
        report.changed += [a.id for a in added.new if a.id is not None] + added.edited_ids
        report.unchanged += added.unchanged
        report.edited += added.edited
    deferred = report.deferred > 0  # the next poll must get the whole document again
    store.record_fetch(
        source_id,
        now=now,
        etag=None if deferred else response.headers.get("ETag"),
        last_modified=None if deferred else response.headers.get("Last-Modified"),
        forget_validators=deferred,
        note=_note(report),
    )
    note_poll(store, source.slug, report.new, True, now)
    return report


def _taken(
    items: list[FeedItem], known: set[str], max_items: int, fetched: int, report: SourceReport
) -> list[FeedItem]:
    """The items of one feed document this poll takes, oldest first (so the newest gets the
    lowest number): the newest `max_items` of those not archived yet, and the archived ones
    among the document's first `max_items` (to notice edits)."""
    fresh = [i for i in items if i.key not in known and i.url not in known]
    fresh.sort(key=lambda i: _published(i, fetched), reverse=True)
    report.deferred = max(0, len(fresh) - max_items)
    chosen = {id(i) for i in fresh[:max_items]}
    chosen |= {id(i) for i in items[:max_items] if i.key in known or i.url in known}
    ordered = [(n, item) for n, item in enumerate(items) if id(item) in chosen]
    ordered.sort(key=lambda pair: (_published(pair[1], fetched), -pair[0]))
    return [item for _, item in ordered]


def _note(report: SourceReport) -> str | None:
    """What the source's status keeps of this poll besides success: items not archived."""
    notes = []
    if report.skipped:
        skipped = len(report.skipped)
        items = "item" if skipped == 1 else "items"
        notes.append(f"{skipped} {items} skipped, e.g. {report.skipped[0]}")
    if report.deferred:
        items = "item" if report.deferred == 1 else "items"
        notes.append(f"{report.deferred} {items} left for the next poll")
    return "; ".join(notes) or None


def _short(text: str) -> bool:
    return len(text) < FULL_TEXT_CHARS


@dataclass
class _PageRows:
    """What a batch's pages leave in the database, stored at once before its articles (one
    transaction for them all, not three for each page): their new captures, what came of
    each page, the extraction health notes. A process killed before stores none of it and
    none of the articles: the next run fetches the pages again, as it would have."""

    captures: dict[tuple[str, str], CaptureRef | int] = field(default_factory=dict)
    seen: list[tuple[str, str, int, CaptureRef | int]] = field(default_factory=list)
    filled: list[tuple[Article, CaptureRef | int]] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    def capture(self, store: Store, writer: CaptureWriter, response: Response) -> CaptureRef | int:
        """keep_capture, the row left for `store`; the same bytes twice in a batch once."""
        key = (response.url, response.digest)
        known = self.captures.get(key) or store.find_capture(*key)
        self.captures[key] = known if known is not None else writer.write(response)
        return self.captures[key]

    def store(self, store: Store, *, now: int) -> None:
        new = [ref for ref in self.captures.values() if isinstance(ref, CaptureRef)]
        ids = store.record_pages(new, self.seen)
        for article, capture in self.filled:
            article.capture_id = ids[capture] if isinstance(capture, CaptureRef) else capture
        if self.outcomes:
            store.health.note_many(self.outcomes, now=now)


async def _fill_from_page(fetcher, store, writer, rules, article: Article, rows: _PageRows) -> bool:
    """Replace a summary with the article extracted from its page; False (the summary kept)
    when the page cannot be fetched or holds no article. What came of it goes into `rows`."""
    response = await fetch_page(
        fetcher, store, writer, article.url, seen=article.fetched, robots=True
    )
    if isinstance(response, str):
        return False
    for hop in response.history:
        rows.capture(store, writer, hop)
    capture = rows.capture(store, writer, response)
    try:
        found = extract(response.body, response.url, response.content_type, rules=rules)
    except Exception as exc:  # no article, or an extractor failing on one page: summary kept
        rows.seen.append((response.url, page_outcome(exc), to_ms(response.fetched), capture))
        rows.outcomes += page_outcomes(article.source, exc)
        return False
    rows.outcomes += page_outcomes(article.source, found)
    article.html, article.text, article.images = found.html, found.text, found.images
    article.author = article.author or found.author
    article.origin = article.origin or found.origin
    article.editor = article.editor or found.editor
    article.photographer = article.photographer or found.photographer
    article.lang = article.lang or found.lang
    rows.filled.append((article, capture))
    rows.seen.append((response.url, "full text", article.fetched, capture))
    return True


def _published(item: FeedItem, fetched: int) -> int:
    return to_ms(item.published) if item.published else fetched


def to_article(item: FeedItem, feed: Feed, slug: str, fetched: int) -> Article:
    html = sanitize_html(item.content_html, item.url or feed.link or "")
    text, images = text_and_images(html)
    url = canonical_url(item.url) if item.url else item.url  # tracking parameters dropped
    return Article(
        source=slug,
        key=item.key,
        url=url,
        aliases=(item.url,) if url != item.url else (),
        title=item.title,
        html=html,
        text=text,
        published=_published(item, fetched),
        fetched=fetched,
        author=item.author,
        origin=item.origin or find_origin(text),
        lang=language_tag(feed.lang, text),
        images=[i.as_dict() for i in merge_images(item.images, images)],
        feed_hash=content_hash(item.title, html),  # kept when the page's text replaces it
    )
