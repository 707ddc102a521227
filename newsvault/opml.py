"""OPML, the feed readers' exchange format: import sources from it, export them to it."""

from __future__ import annotations

import re
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr

from lxml import etree

from newsvault.errors import SourceError
from newsvault.models import RESERVED_SLUGS, Source, slug_problem

_GENERIC_LABELS = {"www", "m", "feeds", "feed", "rss", "cn", "com", "net", "org", "co", "uk", "api"}


def parse_opml(data: bytes, where: str) -> list[tuple[str, str, str | None]]:
    """(name, feed URL, slug if the file names one) for every outline with an xmlUrl."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise SourceError(f"{where}: not valid OPML ({exc})") from None
    if root.tag != "opml":
        raise SourceError(f"{where}: not an OPML file (the root element is <{root.tag}>)")
    found: list[tuple[str, str, str | None]] = []
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or "").strip()
        if url:
            name = (outline.get("title") or outline.get("text") or url).strip()
            slug = outline.get("newsvaultSlug")
            problem = slug_problem(slug) if slug else None
            if problem:  # before any source is added: a file is imported whole or not at all
                raise SourceError(
                    f"{where}: the outline {name!r} has newsvaultSlug {slug!r}; {problem} "
                    "in the file (or remove the attribute)"
                )
            found.append((name, url, slug))
    return found


def to_opml(sources: list[Source], title: str = "newsvault sources") -> str:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{_escape(title)}</title></head>",
        "  <body>",
    ]
    for source in sources:
        lines.append(
            f'    <outline type="rss" text={quoteattr(source.name)} title={quoteattr(source.name)} '
            f"xmlUrl={quoteattr(source.url)} newsvaultSlug={quoteattr(source.slug)}/>"
        )
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def make_slug(url: str, taken: set[str]) -> str:
    """A short slug from the feed's host ('feeds.bbci.co.uk' -> 'bbci'), unique among `taken`."""
    host = (urlsplit(url).hostname or "source").lower()
    labels = [label for label in host.split(".") if label not in _GENERIC_LABELS]
    base = re.sub(r"[^a-z0-9_-]+", "-", labels[0] if labels else host).strip("-")[:40] or "source"
    slug, counter = base, 2
    while slug in taken or slug in RESERVED_SLUGS:
        slug, counter = f"{base}-{counter}", counter + 1
    return slug


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
