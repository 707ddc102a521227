"""Atom 1.0 feeds (RFC 4287) with the full text of each article."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from lxml import etree

ATOM = "http://www.w3.org/2005/Atom"
# Characters XML 1.0 cannot carry at all; archived text sometimes holds them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    link: str
    original: str
    published: int  # ms since the epoch
    author: str
    source: str
    content: str  # sanitized HTML
    updated: int | None = None  # ms since the epoch; None: when published

    @property
    def last_change(self) -> int:
        return self.updated if self.updated is not None else self.published


def _time(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="seconds")


def _add(parent: etree._Element, tag: str, text: str | None = None, **attributes: str):
    element = etree.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
    if text is not None:
        element.text = _NOT_XML.sub("", text)
    return element


def render_feed(
    *,
    feed_id: str,
    title: str,
    self_link: str | None,
    home: str | None,
    entries: list[Entry],
    language: str,
) -> bytes:
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    feed.set("{http://www.w3.org/XML/1998/namespace}lang", language)
    _add(feed, "id", feed_id)
    _add(feed, "title", title)
    _add(feed, "updated", _time(max((e.last_change for e in entries), default=0)))
    _add(feed, "generator", "newsvault")
    if self_link:
        _add(feed, "link", rel="self", href=self_link, type="application/atom+xml")
    if home:
        _add(feed, "link", rel="alternate", href=home, type="text/html")
    for entry in entries:
        item = _add(feed, "entry")
        _add(item, "id", entry.id)
        _add(item, "title", entry.title)
        if entry.link:
            _add(item, "link", rel="alternate", href=entry.link, type="text/html")
        if entry.original and entry.original != entry.link:
            _add(item, "link", rel="related", href=entry.original, type="text/html")
        _add(item, "published", _time(entry.published))
        _add(item, "updated", _time(entry.last_change))
        _add(_add(item, "author"), "name", entry.author)
        source = _add(item, "source")
        _add(source, "title", entry.source)
        _add(item, "content", entry.content, type="html")
    return etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)
