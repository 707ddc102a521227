"""A fetched or saved page made ready for extraction: checked, decoded, parsed, unwrapped.

Decoding uses the fetcher's charset rules (a wrongly decoded Chinese page loses more than any
extractor can win back). lxml drops everything below 255 levels of nesting without a word, so
pages are parsed with `huge_tree` (2,048 levels) and the parser's log is checked: a page nested
deeper is reparsed without its inline tags, and refused if it is still too deep.

A page is decoded and parsed a slice at a time, never held whole as text, and read up to its
MAX_NODES-th element or attribute: a parsed element costs a few hundred bytes, so a 15 MB page
of tiny elements would otherwise take gigabytes; the rest of such a page is left out (its
capture keeps it all).

Copies kept by web.archive.org and archive.today are unwrapped: the toolbar goes, links point
to the original again, and the page is extracted as the original URL with the original site's
rule.
"""

from __future__ import annotations

import gzip
import itertools
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import lxml.etree
import lxml.html

from newsvault.errors import NoArticle
from newsvault.fetch.charset import DECODE_STEP, choose_charset, iter_decode
from newsvault.normalize import ELEMENT_CLASSES

log = logging.getLogger(__name__)

_NOT_HTML = [
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "gzip-compressed data"),
]
_NOT_HTML_TYPES = re.compile(r"^(image|audio|video|font)/|^application/(pdf|json|zip|octet-stream)")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_INLINE_TAGS = re.compile(
    r"</?(?:font|span|b|i|u|em|strong|small|big|center|s|strike|sub|sup|tt|abbr)\b[^>]*>", re.I
)
# each letter's cases spelled out: with re.I every "</" of the page ran the whole pattern
_END_OF_DOCUMENT = re.compile(r"</(?:[hH][tT][mM][lL]|[bB][oO][dD][yY])\s*>")
_WAYBACK = re.compile(r"^https?://web\.archive\.org/web/(\d+)[a-z_]*/(.+)$", re.I)
_WAYBACK_LINK = re.compile(r"^(?:https?://web\.archive\.org)?/web/\d+[a-z_]*/(.+)$", re.I)
_ARCHIVE_TODAY_HOSTS = {
    "archive.today", "archive.ph", "archive.is", "archive.li", "archive.vn", "archive.fo",
    "archive.md",
}  # fmt: skip
_ARCHIVE_TODAY_PATH = re.compile(r"^/(?:o/\w+/|\d{14}/)(https?://.+)$")
_WAYBACK_CHROME = (
    '//*[@id="wm-ipp-base" or @id="wm-ipp" or @id="donato" or @id="wm-ipp-print"]'
    ' | //script[contains(@src, "/_static/") or contains(@src, "archive.org")]'
)
_LEADING_URL_COMMENT = re.compile(rb"^\s*<!--\s*(https?://\S+?)\s*-->")
MAX_DEPTH_ERROR = "Excessive depth"
# Elements plus attributes read from a page: the largest real pages seen have under 8,000.
MAX_NODES = 150_000
_LONGEST_TAG = 4096  # a tag cut by a slice boundary waits for the next slice up to this long


@dataclass
class Page:
    url: str  # the article's own URL: the original when the page is an archive's copy
    tree: lxml.html.HtmlElement
    encoding: str
    # the page's length, no less than its characters of text (no codec, entity or clean-up
    # makes more characters than it reads)
    chars: int
    wrapper: str | None = None  # "web.archive.org" or "archive.today" for an archive's copy

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower()


def read_file(data: bytes) -> bytes:
    """A saved page's bytes, gunzipped when the file is gzip-compressed."""
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def leading_url(data: bytes) -> str | None:
    """The URL a saved page names in a leading `<!-- URL -->` comment."""
    match = _LEADING_URL_COMMENT.match(data[:4096])
    return match.group(1).decode("ascii", "replace") if match else None


def load_page(body: bytes | str, url: str, content_type: str | None = None) -> Page:
    """Check, decode and parse a page; NoArticle when it cannot hold an article."""
    if isinstance(body, bytes):
        _refuse_non_html(body, content_type)
        charset = choose_charset(body, content_type, kind="html")
        encoding = charset.encoding
        strict_utf8 = charset.encoding == "utf-8" and charset.errors == "strict"
        parsed = _parse_utf8(body) if strict_utf8 and not charset.skip else None

        def pieces() -> Iterator[str]:
            return iter_decode(body, charset)
    else:
        encoding, parsed = "utf-8", None

        def pieces() -> Iterator[str]:
            return (body[i : i + DECODE_STEP] for i in range(0, len(body), DECODE_STEP))

    tree, read_all = parsed or _parse(pieces)
    if not read_all:
        log.warning("%s: only the first %s elements and attributes are read", url, f"{MAX_NODES:,}")
    page = Page(url=url, tree=tree, encoding=encoding, chars=len(body))
    _unwrap_archive_copy(page)
    return page


def _refuse_non_html(body: bytes, content_type: str | None) -> None:
    if not body.strip():
        raise NoArticle("the page is empty")
    for magic, what in _NOT_HTML:
        if body.startswith(magic):
            raise NoArticle(f"not HTML but {what}")
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime and _NOT_HTML_TYPES.match(mime):
        raise NoArticle(f"not HTML but {mime}")
    head = body[:1024].lstrip()
    if head[:1] in (b"{", b"[") and b"<" not in head[:200]:
        raise NoArticle("not HTML but JSON")
    if body[:4096].count(b"\x00") > 16:
        raise NoArticle("not HTML but binary data")


def _parse(pieces: Callable[[], Iterator[str]]) -> tuple[lxml.html.HtmlElement, bool]:
    """The page's tree, and False when it was cut at MAX_NODES."""
    text = _Text(pieces())
    tree, too_deep, read_all = _parse_once(text)
    if not text.seen:
        raise NoArticle("the page is empty")
    if too_deep:
        # Deep nesting is nearly always unclosed inline tags (<font> x 1000): drop them.
        tree = None  # before the second parse, not after it
        tree, too_deep, read_all = _parse_once(_Text(pieces(), _INLINE_TAGS))
        if too_deep:
            raise NoArticle("the page is nested more than 2,048 elements deep")
    if tree is None or not len(tree):
        raise NoArticle("the page has no HTML elements")
    return tree, read_all


class _Text:
    """A page's text a slice at a time, as the parser is to read it: without an XML declaration
    (lxml refuses one in text), NUL characters, or a stray </html> or </body> (libxml2 drops
    what follows one; shared headers carry them, and the parser closes the document itself)."""

    def __init__(self, pieces: Iterable[str], *remove: re.Pattern[str]) -> None:
        self._pieces = pieces
        self._remove = (_END_OF_DOCUMENT, *remove)
        self.seen = False  # whether any of it is not white space

    def __iter__(self) -> Iterator[str]:
        held = ""
        for number, piece in enumerate(self._pieces):
            if number == 0:
                piece = _XML_DECLARATION.sub("", piece, count=1)
            piece = held + (piece.replace("\x00", "") if "\x00" in piece else piece)
            cut = piece.find("<", piece.rfind(">") + 1)  # a tag not closed in this piece
            if cut >= 0 and len(piece) - cut <= _LONGEST_TAG:
                piece, held = piece[:cut], piece[cut:]
            else:
                held = ""
            yield self._clean(piece)
        yield self._clean(held)

    def _clean(self, piece: str) -> str:
        for pattern in self._remove:
            piece = pattern.sub("", piece)
        self.seen = self.seen or (bool(piece) and not piece.isspace())
        return piece


# Every element or attribute takes at least two characters of the page ("<p", " a"): a page of
# fewer characters than this cannot reach MAX_NODES, and is parsed without counting them (the
# counting sees every element from Python, a quarter of the time of a parse).
_UNCOUNTED_CHARS = 2 * MAX_NODES - 1_000  # less the elements the parser adds itself


# A longer page of up to this many characters is parsed whole and its elements and
# attributes counted afterwards, in C; only one found past MAX_NODES is parsed again,
# counting, to be cut there. Its tree holds at most about 50 MB whatever the page holds.
_COUNTED_AFTER_CHARS = 1_000_000


def _parse_once(text: Iterable[str]) -> tuple[lxml.html.HtmlElement | None, bool, bool]:
    """(tree, nested too deep, read to the end)."""
    pieces = iter(text)
    first: list[str] = []
    size = 0
    for piece in pieces:
        first.append(piece)
        size += len(piece)
        if size > _COUNTED_AFTER_CHARS:
            break
    else:
        parsed = _parse_all(first)
        if size <= _UNCOUNTED_CHARS or _nodes(parsed[0]) <= MAX_NODES:
            return parsed
    parser = lxml.etree.HTMLPullParser(
        events=("start",), huge_tree=True, remove_comments=True, remove_pis=True
    )
    parser.set_element_class_lookup(ELEMENT_CLASSES)
    nodes = 0
    read_all = True
    for piece in itertools.chain(first, pieces):
        parser.feed(piece)
        for _event, element in parser.read_events():
            nodes += 1 + len(element.attrib)
        if nodes > MAX_NODES:
            read_all = False
            break
    return _close(parser, read_all)


# What `\s` matches in text, as UTF-8: the byte path must remove exactly what the text path does.
_SPACE_UTF8 = (
    rb"(?:[\t-\r\x1c-\x20]|\xc2[\x85\xa0]|\xe1\x9a\x80|\xe2\x80[\x80-\x8a\xa8\xa9\xaf]|"
    rb"\xe2\x81\x9f|\xe3\x80\x80)"
)
_ASCII_SPACE = b"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f "
_XML_DECLARATION_UTF8 = re.compile(rb"^" + _SPACE_UTF8 + rb"*<\?xml[^>]*\?>")
_END_OF_DOCUMENT_UTF8 = re.compile(
    rb"</(?:[hH][tT][mM][lL]|[bB][oO][dD][yY])" + _SPACE_UTF8 + rb"*>"
)


def _parse_utf8(body: bytes) -> tuple[lxml.html.HtmlElement, bool] | None:
    """A page that is valid UTF-8, parsed from its bytes: the same tree as from its text, without
    decoding it and lxml encoding it back (a seventh of loading a page). None where the text path
    must take it: a page too long to parse whole, or nested too deep."""
    if len(body) > _COUNTED_AFTER_CHARS:
        return None
    data = _XML_DECLARATION_UTF8.sub(b"", body, count=1)
    if b"\x00" in data:
        data = data.replace(b"\x00", b"")
    data = _END_OF_DOCUMENT_UTF8.sub(b"", data)
    start = data.lstrip(_ASCII_SPACE)[:1]
    if not start or (start >= b"\x80" and data.decode("utf-8").isspace()):
        raise NoArticle("the page is empty")
    tree, too_deep, _ = _parse_all([data], encoding="utf-8")
    if too_deep or (len(data) > _UNCOUNTED_CHARS and _nodes(tree) > MAX_NODES):
        return None
    if tree is None or not len(tree):
        raise NoArticle("the page has no HTML elements")
    return tree, True


def _nodes(tree: lxml.html.HtmlElement | None) -> int:
    return 0 if tree is None else int(tree.xpath("count(//*) + count(//@*)"))


def _parse_all(
    pieces: list[str] | list[bytes], encoding: str | None = None
) -> tuple[lxml.html.HtmlElement | None, bool, bool]:
    """Text pieces, or bytes in `encoding`, parsed whole: (tree, nested too deep, True)."""
    parser = lxml.etree.HTMLParser(
        huge_tree=True, remove_comments=True, remove_pis=True, encoding=encoding
    )
    parser.set_element_class_lookup(ELEMENT_CLASSES)
    for piece in pieces:
        parser.feed(piece)
    return _close(parser, True)


def _close(
    parser: lxml.etree.HTMLParser | lxml.etree.HTMLPullParser, read_all: bool
) -> tuple[lxml.html.HtmlElement | None, bool, bool]:
    try:
        tree = parser.close()
    except lxml.etree.LxmlError:
        tree = None
    too_deep = any(MAX_DEPTH_ERROR in entry.message for entry in parser.feed_error_log)
    return tree, too_deep, read_all


def _unwrap_archive_copy(page: Page) -> None:
    parts = urlsplit(page.url)
    host = (parts.hostname or "").lower()
    wayback = _WAYBACK.match(page.url)
    if wayback:
        page.url, page.wrapper = _with_scheme(wayback.group(2)), "web.archive.org"
        for element in page.tree.xpath(_WAYBACK_CHROME):
            element.drop_tree()
        for element, attribute, link, _pos in list(page.tree.iterlinks()):
            original = _WAYBACK_LINK.match(link)
            if original:
                element.set(attribute, _with_scheme(original.group(1)))
    elif host in _ARCHIVE_TODAY_HOSTS:
        original = _ARCHIVE_TODAY_PATH.match(parts.path) or None
        found = original.group(1) if original else _archive_today_original(page.tree)
        if found:
            page.url, page.wrapper = found, "archive.today"
        for element in page.tree.xpath('//*[@id="HEADER"] | //*[@id="hashtags"]'):
            element.drop_tree()


def _archive_today_original(tree: lxml.html.HtmlElement) -> str | None:
    for value in tree.xpath('//input[@name="q"]/@value | //*[@id="SHARE_LONGLINK"]/@value'):
        host = (urlsplit(value).hostname or "").lower()
        if value.startswith("http") and host not in _ARCHIVE_TODAY_HOSTS:
            return value
    return None


def _with_scheme(url: str) -> str:
    # The Wayback Machine sometimes folds "//" into "/": http:/example.com.
    return re.sub(r"^(https?):/+", r"\1://", url)
