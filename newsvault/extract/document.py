"""A fetched or saved page made ready for extraction: checked, decoded, parsed, unwrapped.

Decoding uses the fetcher's charset rules (a wrongly decoded Chinese page loses more than any
extractor can win back). lxml drops everything below 255 levels of nesting without a word, so
pages are parsed with `huge_tree` (2,048 levels) and the parser's log is checked: a page nested
deeper is reparsed without its inline tags, and refused if it is still too deep. Copies kept by
web.archive.org and archive.today are unwrapped: the toolbar goes, links point to the
original again, and the page is extracted as the original URL with the original site's rule.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import lxml.etree
import lxml.html

from newsvault.errors import NoArticle
from newsvault.fetch.charset import decode

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
_END_OF_DOCUMENT = re.compile(r"</(?:html|body)\s*>", re.I)
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


@dataclass
class Page:
    url: str  # the article's own URL: the original when the page is an archive's copy
    tree: lxml.html.HtmlElement
    encoding: str
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
        decoded = decode(body, content_type, kind="html")
        text, encoding = decoded.text, decoded.encoding
    else:
        text, encoding = body, "utf-8"
    text = _XML_DECLARATION.sub("", text, count=1).replace("\x00", "")
    # libxml2 drops what follows a stray </html> (shared headers carry one); the parser
    # closes the document by itself.
    text = _END_OF_DOCUMENT.sub("", text)
    if not text.strip():
        raise NoArticle("the page is empty")
    tree = _parse(text)
    page = Page(url=url, tree=tree, encoding=encoding)
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


def _parse(text: str) -> lxml.html.HtmlElement:
    tree, too_deep = _parse_once(text)
    if too_deep:
        # Deep nesting is nearly always unclosed inline tags (<font> x 1000): drop them.
        tree, too_deep = _parse_once(_INLINE_TAGS.sub("", text))
        if too_deep:
            raise NoArticle("the page is nested more than 2,048 elements deep")
    if tree is None or not len(tree):
        raise NoArticle("the page has no HTML elements")
    return tree


def _parse_once(text: str) -> tuple[lxml.html.HtmlElement | None, bool]:
    parser = lxml.html.HTMLParser(huge_tree=True, remove_comments=True, remove_pis=True)
    try:
        tree = lxml.html.document_fromstring(text, parser=parser)
    except (lxml.etree.ParserError, ValueError):
        tree = None
    too_deep = any(MAX_DEPTH_ERROR in entry.message for entry in parser.error_log)
    return tree, too_deep


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
