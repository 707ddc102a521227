"""Feeds: bytes of an RSS 0.9x/1.0/2.0, Atom or JSON Feed document -> items.

fastfeedparser does the parsing (about 90 times faster than feedparser, measured in
benchmarks/ingest.py); feedparser's forgiving parser is the second try for documents the
first one refuses. Neither is ever given a URL or a path: they only see bytes we fetched.
"""

from __future__ import annotations

import datetime as dt
import html.entities
import re
from dataclasses import dataclass, field

import fastfeedparser
from lxml import etree

from newsvault.errors import FeedError
from newsvault.extract.metadata import clean_author
from newsvault.fetch.charset import to_utf8_xml
from newsvault.links import web_url
from newsvault.models import CHINA_TIME
from newsvault.normalize import CONTROL, Image, canonical_url, text_and_images

_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S)
_LANGUAGE = re.compile(
    rb"<(?:\w+:)?language>\s*([^<\s]+)\s*<|<(?:\w+:)?feed[^>]*?xml:lang=[\"']([^\"']+)[\"']"
    rb'|"language"\s*:\s*"([^"]+)"'
)
_STRICT_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
_RECOVERING_XML = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, recover=True
)
_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif")
_ENTITY = re.compile(rb"&([A-Za-z][A-Za-z0-9]{1,31});")
_XML_ENTITIES = {"amp", "lt", "gt", "quot", "apos"}


@dataclass(frozen=True)
class FeedItem:
    key: str  # identity within its source: the guid, else the canonical link
    url: str
    title: str
    published: dt.datetime | None
    author: str | None
    content_html: str  # the full content where the feed has it, else the summary
    is_summary: bool
    images: list[Image] = field(default_factory=list)  # enclosures and media:content
    origin: str | None = None  # RSS <source>: the outlet the item was taken from


@dataclass(frozen=True)
class Feed:
    title: str | None
    link: str | None
    lang: str | None
    items: list[FeedItem]
    skipped: list[str] = field(default_factory=list)  # one line for each item not taken


def parse_feed(body: bytes, content_type: str | None, url: str) -> Feed:
    """Parse a fetched feed; FeedError says in one line why a document is not a usable feed."""
    if not body.strip():
        raise FeedError("empty response: the URL returned no content")
    if _HTML_START.match(body[:4096]):
        raise FeedError("an HTML page, not a feed: use the page's RSS/Atom link as the source URL")
    data = _html_entities_as_numbers(to_utf8_xml(body, content_type))
    try:
        parsed = fastfeedparser.parse(data)
    except Exception as first:  # e.g. AttributeError for a JSON Feed whose "author" is 1.0
        parsed = _feedparser_fallback(data)
        if parsed is None:
            raise FeedError(f"not a readable feed ({_short(first)})") from None
    feed = parsed.get("feed") or {}
    link = web_url(_text(feed.get("link")), url) or url
    entries = parsed.get("entries") or []
    origins = _rss_sources(data, len(entries))
    days = {(a or b).decode() for a, b in _BARE_DATE_IN_XML.findall(data)}  # dates without a time
    items: list[FeedItem] = []
    skipped: list[str] = []
    for number, (entry, origin) in enumerate(zip(entries, origins, strict=True), start=1):
        try:
            outlet = _text(feed.get("title"))
            items.append(_item(entry, base=url, origin=origin, outlet=outlet, days=days))
        except SkippedItem as exc:
            skipped.append(f"item {number}: {exc}")
        except Exception as exc:  # one bad item never stops the rest of its feed
            skipped.append(f"item {number}: unreadable ({_short(exc)})")
    if not items and not skipped:
        _require_well_formed(data)
        if not feed.get("title"):
            raise FeedError("no feed items and no feed title: is this URL a feed?")
    return Feed(
        title=_text(feed.get("title")) or None,
        link=link,
        lang=_text(feed.get("language")) or _language(data),
        items=items,
        skipped=skipped,
    )


def _html_entities_as_numbers(data: bytes) -> bytes:
    """`&nbsp;`, `&eacute;` and the other HTML entity names, which XML does not know, as
    character references. Feeds use them all the time; left alone, the parser cuts the text
    at the first one ("caf&eacute;" became "caf") or refuses the document."""
    if data.lstrip()[:1] in (b"{", b"[") or b"&" not in data:
        return data
    return _ENTITY.sub(_entity_number, data)


def _entity_number(match: re.Match[bytes]) -> bytes:
    name = match.group(1).decode("ascii")
    if name in _XML_ENTITIES:
        return match.group(0)
    text = html.entities.html5.get(name + ";")
    if text is None:
        return match.group(0)
    return "".join(f"&#{ord(c)};" for c in text).encode("ascii")


def _require_well_formed(data: bytes) -> None:
    """An empty item list from a recovering parser may hide a cut-off document: say so."""
    if data.lstrip()[:1] in (b"{", b"["):
        return
    try:
        etree.fromstring(data, _STRICT_XML)
    except etree.XMLSyntaxError as exc:
        raise FeedError(f"not a readable feed (malformed or truncated XML: {exc.msg})") from None


def _language(data: bytes) -> str | None:
    """The feed's language (RSS <language>, Atom xml:lang, JSON Feed "language")."""
    match = _LANGUAGE.search(data[:8192])
    if match is None:
        return None
    value = next(group for group in match.groups() if group is not None)
    return value.decode("utf-8", "replace").strip() or None


def _feedparser_fallback(data: bytes) -> dict | None:
    import feedparser  # only for the few documents fastfeedparser refuses: 45 ms to import

    result = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    if not result.entries:
        return None
    return result


def _rss_sources(data: bytes, count: int) -> list[str | None]:
    """RSS 2.0 <source> of each item (fastfeedparser drops it): the outlet an item came from."""
    if b"<source" not in data or count == 0:
        return [None] * count
    root = etree.fromstring(data, _RECOVERING_XML)
    found = [] if root is None else [_text(i.findtext("source")) or None for i in root.iter("item")]
    return found if len(found) == count else [None] * count


class SkippedItem(Exception):
    """An item that cannot be archived; the message says why, in a few words."""


def _item(
    entry: dict, *, base: str, origin: str | None, outlet: str = "", days: set[str] | None = None
) -> FeedItem:
    link = _link(entry)
    url = web_url(link, base)
    guid = _text(entry.get("id"))
    if not url:
        url = web_url(guid)
    if guid == link:  # fastfeedparser fills a missing guid with the link
        guid = ""
    key = guid or (canonical_url(url) if url else "")
    if not key:
        why = f"its link {link[:80]!r} is not a web address" if link else "no link and no guid"
        raise SkippedItem(why)
    content, is_summary = _content(entry)
    title = _text(entry.get("title")) or _first_words(content) or url
    return FeedItem(
        key=key,
        url=url,
        title=title,
        published=_date(entry, days or set()),
        author=_author(entry, outlet),
        content_html=content,
        is_summary=is_summary,
        images=_images(entry, url or base),
        origin=origin or _origin(entry),
    )


def _link(entry: dict) -> str:
    if entry.get("link"):
        return str(entry["link"]).strip()
    for link in entry.get("links") or []:
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return str(link["href"]).strip()
    return ""


def _content(entry: dict) -> tuple[str, bool]:
    summary = entry.get("description") or entry.get("summary") or ""
    for content in entry.get("content") or []:
        value = content.get("value") if isinstance(content, dict) else None
        # fastfeedparser copies the summary into content when there is none.
        if value and value.strip() and value != summary:
            return value, False
    return summary, True


_BARE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_BARE_DATE_IN_XML = re.compile(rb">\s*(\d{4}-\d{2}-\d{2})\s*</|\"(\d{4}-\d{2}-\d{2})\"")


_UTC_MIDNIGHT = {"T00:00:00+00:00", "T00:00:00Z", "T00:00:00"}


def _date(entry: dict, days: set[str]) -> dt.datetime | None:
    """The item's time; a date given without one (`<dc:date>2024-06-20</dc:date>`, which
    the parsers make midnight in UTC) is that day in UTC+8, as a reader means it."""
    for key in ("published", "updated", "created"):
        value = entry.get(key)
        if not value:
            continue
        parsed = entry.get(f"{key}_parsed")  # feedparser's struct_time, always UTC
        try:
            raw = str(value).strip()
            if _BARE_DATE.fullmatch(raw) or (raw[:10] in days and raw[10:] in _UTC_MIDNIGHT):
                day = dt.date.fromisoformat(raw[:10])
                return _plausible(dt.datetime.combine(day, dt.time(), CHINA_TIME))
            if parsed:
                year, month, day_of_month, hour, minute, second = parsed[:6]
                moment = dt.datetime(year, month, day_of_month, hour, minute, second, tzinfo=dt.UTC)
                return _plausible(moment)
            moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except (ValueError, TypeError, OverflowError):
            continue
        return _plausible(moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))
    return None


def _plausible(moment: dt.datetime) -> dt.datetime | None:
    """A date that can be stored and shown: far-off years (0001, 9999: placeholders, or
    overflows once shifted to UTC+8 for list pages) count as no date."""
    return moment if 1800 <= moment.year < 9000 else None


def _author(entry: dict, outlet: str) -> str | None:
    """The item's author, unless it names an agency, a section or the outlet itself (新华社,
    苦勞報導 in 苦勞網's feed): as bylines on pages are judged."""
    author = _text(entry.get("author"))
    if not author:
        names = [_text(a.get("name")) for a in entry.get("authors") or [] if isinstance(a, dict)]
        author = ", ".join(n for n in names if n)
    cleaned = clean_author(author) if author else None
    if cleaned and outlet and (cleaned in outlet or outlet in cleaned):
        return None
    return cleaned


def _origin(entry: dict) -> str | None:
    source = entry.get("source")
    if isinstance(source, dict):
        return _text(source.get("title") or source.get("value")) or None
    return _text(source) or None


def _images(entry: dict, base: str) -> list[Image]:
    images: list[Image] = []
    for enclosure in entry.get("enclosures") or []:
        href = enclosure.get("url") or enclosure.get("href")
        kind = enclosure.get("type") or ""
        if href and (kind.startswith("image/") or href.lower().endswith(_IMAGE_EXTENSIONS)):
            images.append(Image(web_url(href, base)))
    for media in entry.get("media_content") or []:
        href = media.get("url")
        if href and (
            media.get("medium") == "image" or (media.get("type") or "").startswith("image/")
        ):
            images.append(Image(web_url(href, base)))
    for key in ("image", "banner_image"):  # JSON Feed's own images of the item
        if isinstance(entry.get(key), str):
            images.append(Image(web_url(entry[key], base)))
    seen: set[str] = {""}  # an image whose URL is not a web address is dropped
    unique: list[Image] = []
    for image in images:
        if image.src not in seen:
            seen.add(image.src)
            unique.append(image)
    return unique


def _text(value: object) -> str:
    if value is None:
        return ""
    return " ".join(CONTROL.sub("", str(value)).split())


def _first_words(html: str) -> str:
    text, _ = text_and_images(html) if html.strip() else ("", [])
    return text.split("\n", 1)[0][:60]


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
