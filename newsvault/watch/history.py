"""An article's history: the version first archived, then each later one, each with what
changed from the version before it of the same origin (a page is compared with the page
before it, a feed's text with the feed's)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from newsvault import diffs
from newsvault.extract import Extraction
from newsvault.models import Article
from newsvault.normalize import text_and_images
from newsvault.store import Store
from newsvault.store.db import content_hash

# A feed's text shorter than this is taken for a summary, not the article: `run` fetches the
# page of such an item (fetch_full = "auto"), and an article left with it is "summary only".
FULL_TEXT_CHARS = 300


@dataclass(frozen=True)
class Step:
    seen: int  # ms since the epoch
    origin: str  # "feed" or "page"
    counted: bool  # an edit (False: the archived version, or a feed article's first page)
    title: str
    diff: diffs.Diff | None  # from the previous version of the same origin; None for the first


def versions_and_diffs(store: Store, article: Article) -> list[Step]:
    first_origin = "page" if text_from_page(store, article) else "feed"
    last = {first_origin: diffs.Version(article.title, article.text)}
    steps = [Step(article.fetched, first_origin, False, article.title, None)]
    for version in store.watch.versions(article.id or 0):
        current = diffs.Version(version.title, text_and_images(version.html)[0])
        before = last.get(version.origin)
        diff = diffs.compare(before, current) if before is not None else None
        steps.append(Step(version.seen, version.origin, version.counted, version.title, diff))
        last[version.origin] = current
    return steps


def text_from_page(store: Store, article: Article) -> bool:
    """Whether the stored text is its page's (archived as a page, or a feed item whose page
    replaced its summary): the article's capture is of its own URL. A feed's text, or an
    article imported from markdown, has no page to compare with yet."""
    capture = store.capture(article.capture_id) if article.capture_id else None
    return capture is not None and capture.url == article.url


def summary_only(store: Store, url: str, capture_id: int | None, html: str) -> bool:
    """Whether an archived article holds no more than its feed's summary: its text came from
    the feed (the capture it was archived from is not its own page: the page was not fetched,
    or could not be) and is shorter than FULL_TEXT_CHARS. An article with no capture (imported
    from markdown) is not known to be one."""
    capture = store.capture(capture_id) if capture_id else None
    if capture is None or capture.url == url:
        return False
    return len(text_and_images(html)[0]) < FULL_TEXT_CHARS


def keep_page_version(
    store: Store, article: Article, page: Extraction, capture_id: int | None, now: int
) -> str:
    """Keep the page as a version when its title or text differ from the last page seen:
    "edited"; "first page" when it is the first page seen of an article archived from its
    feed's text (kept as the baseline, not an edit); else "unchanged"."""
    pages = [v for v in store.watch.versions(article.id or 0) if v.origin == "page"]
    last_title: str | None
    last_text: str | None
    if pages:
        last_title, last_text = pages[-1].title, text_and_images(pages[-1].html)[0]
    elif text_from_page(store, article):
        last_title, last_text = article.title, article.text
    else:
        last_title = last_text = None
    if (last_title, last_text) == (page.title, page.text):
        return "unchanged"
    baseline = last_title is None
    store.watch.add_page_version(
        article, page.title, page.html, content_hash(page.title, page.html), seen=now,
        capture_id=capture_id, counted=not baseline,
    )  # fmt: skip
    return "first page" if baseline else "edited"


def watch_fields(store: Store, article: Article) -> dict[str, Any]:
    """What `show --json` and the API add to an article: its watch status and versions, and
    whether it holds no more than its feed's summary."""
    summary = summary_only(store, article.url, article.capture_id, article.html)
    return store.watch.fields(article) | {"summary_only": summary}
