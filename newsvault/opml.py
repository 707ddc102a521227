"""OPML, the feed readers' exchange format: import sources from it, export them to it.

Folders (outlines without an xmlUrl that hold others) become a source's category, nested
ones as "A/B"; htmlUrl becomes its home. Export writes both back, so a file a feed reader
wrote comes back out with the same folders and sites.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr

from lxml import etree

from newsvault.errors import SourceError
from newsvault.fetch.guard import ip_literal
from newsvault.links import web_url
from newsvault.models import RESERVED_SLUGS, Source, category_path, slug_problem

_GENERIC_LABELS = {"www", "m", "feeds", "feed", "rss", "cn", "com", "net", "org", "co", "uk", "api"}
SLUG_CHARS = 40  # the longest slug made from a host or a title


@dataclass(frozen=True)
class Outline:
    """One feed an OPML file lists."""

    name: str
    url: str
    slug: str | None = None  # newsvaultSlug, where the file names one
    category: str | None = None  # the folders it is in, outermost first: "A/B"
    home: str | None = None  # htmlUrl, where it is a web address


def parse_opml(data: bytes, where: str) -> list[Outline]:
    """Every outline with an xmlUrl, in the file's order, with its folders and htmlUrl."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise SourceError(f"{where}: not valid OPML ({exc})") from None
    if root.tag != "opml":
        raise SourceError(f"{where}: not an OPML file (the root element is <{root.tag}>)")
    found: list[Outline] = []
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or "").strip()
        if not url:
            continue
        name = _label(outline) or url
        slug = outline.get("newsvaultSlug")
        problem = slug_problem(slug) if slug else None
        if problem:  # before any source is added: a file is imported whole or not at all
            raise SourceError(
                f"{where}: the outline {name!r} has newsvaultSlug {slug!r}; {problem} "
                "in the file (or remove the attribute)"
            )
        found.append(
            Outline(
                name=name,
                url=url,
                slug=slug,
                category=_folders(outline),
                home=web_url((outline.get("htmlUrl") or "").strip()) or None,
            )
        )
    return found


def _label(outline: etree._Element) -> str:
    return " ".join((outline.get("title") or outline.get("text") or "").split())


def _folders(outline: etree._Element) -> str | None:
    """The titles of the folders holding `outline`, outermost first; without any, OPML 2.0's
    category attribute (its first slash-delimited path: "/World/Asia,/Tags/x" -> World/Asia)."""
    names = [
        _label(parent)
        for parent in outline.iterancestors("outline")
        if not (parent.get("xmlUrl") or "").strip()
    ]
    if names:
        return category_path("/".join(reversed(names)))
    return category_path((outline.get("category") or "").split(",")[0])


def to_opml(sources: list[Source], title: str = "newsvault sources") -> str:
    """The sources as OPML 2.0: inside nested folder outlines by category (folders in the
    order their first source comes), with htmlUrl where a source's home is known."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{_escape(title)}</title></head>",
        "  <body>",
    ]
    tree = _Folder()
    for source in sources:
        folder = tree
        for name in source.category.split("/") if source.category else []:
            folder = folder.folder(name)
        folder.children.append(source)
    _write(tree, lines, depth=2)
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


class _Folder:
    def __init__(self, name: str = "") -> None:
        self.name = name
        self.children: list[Source | _Folder] = []  # sources and folders, in the order met
        self._folders: dict[str, _Folder] = {}

    def folder(self, name: str) -> _Folder:
        if name not in self._folders:
            self._folders[name] = _Folder(name)
            self.children.append(self._folders[name])
        return self._folders[name]


def _write(folder: _Folder, lines: list[str], depth: int) -> None:
    pad = "  " * depth
    for child in folder.children:
        if isinstance(child, _Folder):
            name = quoteattr(child.name)
            lines.append(f"{pad}<outline text={name} title={name}>")
            _write(child, lines, depth + 1)
            lines.append(f"{pad}</outline>")
            continue
        home = f" htmlUrl={quoteattr(child.home)}" if child.home else ""
        lines.append(
            f'{pad}<outline type="rss" text={quoteattr(child.name)} title={quoteattr(child.name)} '
            f"xmlUrl={quoteattr(child.url)}{home} newsvaultSlug={quoteattr(child.slug)}/>"
        )


def make_slug(url: str, taken: set[str], title: str | None = None) -> str:
    """A short slug unique among `taken` and never reserved: from the feed's host
    ('feeds.bbci.co.uk' -> 'bbci'); for a host that is an IP address, from `title` (Chinese
    in pinyin: '美国之音' -> 'meiguozhiyin'), else 'feed'."""
    host = (urlsplit(url).hostname or "").lower()
    if ip_literal(host):
        base = title_slug(title or "") or "feed"
    else:
        labels = [label for label in host.split(".") if label not in _GENERIC_LABELS]
        base = _slug_text(labels[0] if labels else host) or "source"
    slug, counter = base, 2
    while slug in taken or slug in RESERVED_SLUGS:
        slug, counter = f"{base}-{counter}", counter + 1
    return slug


def title_slug(title: str) -> str:
    """`title` as slug characters: Chinese (either script) in pinyin, a run of characters
    one word ('VOA 美國之音' -> 'voa-meiguozhiyin'), accents dropped, other scripts left out;
    "" when nothing is left."""
    from pypinyin import lazy_pinyin  # its dictionaries take a while: loaded when needed

    spelled = "".join(lazy_pinyin(title, errors="default"))
    plain = unicodedata.normalize("NFKD", spelled).encode("ascii", "ignore").decode("ascii")
    return _slug_text(plain)


def _slug_text(text: str) -> str:
    squeezed = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")
    return squeezed[:SLUG_CHARS].strip("-_")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
