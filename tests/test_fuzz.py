"""Property-based fuzzing of what hostile feeds reach first: the feed parser, the sanitizers,
the one outgoing URL rule and the markdown title escaping.

Example counts come from the hypothesis profile loaded in conftest.py (HYPOTHESIS_PROFILE=ci
for ten times as many), scaled by each property's cost. An input that once broke a property
is kept as an @example of its test.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

import lxml.html
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from newsvault.errors import FeedError, NoArticle
from newsvault.extract.document import _parse, _parse_utf8
from newsvault.extract.extractor import _PLACEHOLDER, _placeholder
from newsvault.feeds import Feed, parse_feed
from newsvault.links import _parsed_web_url, has_unsafe_scheme, safe_links, web_url
from newsvault.models import Article
from newsvault.normalize import _block_in_p, sanitize_html, text_and_images
from newsvault.publish.markdown import markdown_title, parse_article, plain_title, render_article
from newsvault.publish.reader import reader_html

from .inert import active_markup

BASE = "https://news.example.com/feeds/rss.xml"
PAYLOADS = [
    case["payload"]
    for case in json.loads(
        (Path(__file__).parent / "data" / "domxss" / "payloads.json").read_text(encoding="utf-8")
    )
]


def share(factor: float) -> settings:
    """The profile's number of examples times `factor`: cheap properties run more."""
    return settings(max_examples=max(10, int(settings.default.max_examples * factor)))


# ---- pieces -------------------------------------------------------------------------------

TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
# What browsers drop from a URL before reading its scheme (C0 controls and space in front,
# tab and newlines anywhere) and the Unicode spaces and invisible characters nh3 lets stand
# in front of a scheme.
IGNORED_IN_URL = [chr(c) for c in range(0x21)] + ["\x7f", "\u00a0", "\u1680", "\u3000", "\ufeff"]
IGNORED_IN_URL += [chr(c) for c in range(0x2000, 0x200C)] + ["\u2028", "\u2060", "\u00ad"]
BAD_SCHEMES = ["javascript", "data", "vbscript"]
TRICKY = [
    "<", ">", "&", "&amp;", "&lt;", "&#", "&#x", "]]>", "<![CDATA[", "<!--", "-->", '"', "'",
    "\\", "](", "]\\(", "[", "]", "(", ")", "&#106;avascript:", "&#x6A;avascript:", "&#x09;",
    "&#0;", "&Tab;", "&NewLine;", "\x00", "\x01", "\x08", "\x0b", "\x1f", "\x7f", "\x85",
    "\x9b", "\u2028", "\ufeff", "\ufffe", "\uffff", "\U0001f600", "http://[::1",
    "http://example.c[o.test/", "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:x",
    "\x01java\tscript:alert(1)", "\u00a0javascript:alert(1)", "data:text/html,<script>x</script>",
    "vbscript:msgbox(1)", "http://", "https:", "//evil.example/x", "http:evil", "http://a:b@c:99999/",
    "https://news.example.com/a/1.html", "/relative/path?utm_source=x#frag", "mailto:a@b",
]  # fmt: skip
ODD_DATES = [
    "Wed, 19 Jun 2024 13:39:24 GMT", "Wed, 32 Foo 2024 25:61:61 +9999", "2024-06-19T13:39:24Z",
    "2024-13-45T99:99:99Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00",
    "0000-00-00 00:00:00", "-1", "1e308", "Tue, 19 Jun 99999 13:39:24 GMT", "today", "",
    "2024-06-19T13:39:24+25:00", "1718805542", "Sat, 01 Jan 0001 00:00:00 +2359",
]  # fmt: skip


TRICKY_OR_TEXT = st.one_of(TEXT, st.sampled_from(TRICKY))
LONG = st.builds(lambda piece, times: piece * times, TRICKY_OR_TEXT, st.integers(500, 3000))
FIELD = st.one_of(st.lists(TRICKY_OR_TEXT, max_size=4).map("".join), LONG)
DATE = st.one_of(
    st.sampled_from(ODD_DATES),
    st.datetimes().map(lambda d: d.strftime("%a, %d %b %Y %H:%M:%S +0000")),
    st.datetimes().map(lambda d: d.isoformat()),
    FIELD,
)


@st.composite
def disguised_scheme(draw: st.DrawFn, ignored: list[str] = IGNORED_IN_URL) -> str:
    """javascript:, data: or vbscript: as a browser would still read it: case changed,
    whitespace and controls in front and between the letters."""
    noise = st.lists(st.sampled_from(ignored), max_size=3).map("".join)
    scheme = draw(st.sampled_from(BAD_SCHEMES))
    letters = "".join(draw(st.sampled_from([c, c.upper()])) + draw(noise) for c in scheme)
    return draw(noise) + letters + ":" + draw(st.sampled_from(["alert(1)", "//x", "", ",<b>"]))


# ---- feeds --------------------------------------------------------------------------------


def xml_text(value: str, form: str) -> str:
    if form == "escaped":
        return escape(value)
    if form == "cdata":
        return f"<![CDATA[{value}]]>"
    return value  # raw: may break the document, which is the point


@st.composite
def rss_feed(draw: st.DrawFn) -> bytes:
    def element(name: str, value: st.SearchStrategy[str] = FIELD) -> str:
        if not draw(st.booleans()):
            return ""
        form = draw(st.sampled_from(["escaped", "cdata", "raw"]))
        return f"<{name}>{xml_text(draw(value), form)}</{name}>"

    items = []
    for _ in range(draw(st.integers(0, 3))):
        fields = [
            element("title"),
            element("link", st.one_of(st.sampled_from(TRICKY), FIELD, disguised_scheme())),
            element("guid"),
            element("description"),
            element("content:encoded"),
            element("author"),
            element("dc:creator"),
            element("pubDate", DATE),
            element("source"),
        ]
        if draw(st.booleans()):
            url, kind = draw(FIELD), draw(st.sampled_from(["image/jpeg", "", "text/html"]))
            fields.append(f"<enclosure url={quoteattr(url)} type={quoteattr(kind)}/>")
        items.append("<item>" + "".join(draw(st.permutations(fields))) + "</item>")
    encoding = draw(st.sampled_from(["utf-8", "gb2312", "iso-8859-1", "utf-16", "bogus"]))
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        + element("title")
        + element("link")
        + "".join(items)
        + "</channel></rss>"
    ).encode("utf-8", "surrogatepass")


@st.composite
def atom_feed(draw: st.DrawFn) -> bytes:
    def text(name: str, value: st.SearchStrategy[str] = FIELD) -> str:
        form = draw(st.sampled_from(["escaped", "cdata", "raw"]))
        kind = draw(st.sampled_from(["", ' type="html"', ' type="xhtml"', ' type="text"']))
        return f"<{name}{kind}>{xml_text(draw(value), form)}</{name}>"

    entries = []
    for _ in range(draw(st.integers(0, 3))):
        fields = [
            text("title"),
            f"<link href={quoteattr(draw(st.one_of(FIELD, disguised_scheme())))}/>",
            text("id"),
            text("summary"),
            text("content"),
            f"<author><name>{escape(draw(FIELD))}</name></author>",
            f'<link rel="enclosure" type="image/png" href={quoteattr(draw(FIELD))}/>',
            text("published", DATE),
            text("updated", DATE),
        ]
        chosen = draw(st.lists(st.sampled_from(fields), unique=True))
        entries.append("<entry>" + "".join(chosen) + "</entry>")
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        + text("title")
        + "".join(entries)
        + "</feed>"
    ).encode("utf-8", "surrogatepass")


JSON_VALUE = st.one_of(
    FIELD, st.none(), st.integers(), st.floats(), st.booleans(), st.lists(TEXT, max_size=2)
)


@st.composite
def json_feed(draw: st.DrawFn) -> bytes:
    def fields(*names: str) -> dict[str, object]:
        return draw(st.fixed_dictionaries({}, optional={n: JSON_VALUE for n in names}))

    items = []
    for _ in range(draw(st.integers(0, 3))):
        entry = fields("id", "url", "external_url", "title", "content_html", "content_text")
        entry |= fields("summary", "date_published", "date_modified", "author", "image")
        if draw(st.booleans()):
            entry["authors"] = [fields("name", "url")]
        if draw(st.booleans()):
            entry["attachments"] = [fields("url", "mime_type")]
        if draw(st.booleans()):
            entry["url"] = draw(disguised_scheme())
        items.append(entry)
    document = {"version": "https://jsonfeed.org/version/1.1", **fields("title", "home_page_url")}
    document["items"] = draw(st.one_of(st.just(items), JSON_VALUE))
    return json.dumps(document, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")


def truncated(documents: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """A document, or its first part as a cut-off download gives it."""
    return st.one_of(
        documents,
        st.tuples(documents, st.floats(0, 1)).map(lambda d: d[0][: int(len(d[0]) * d[1])]),
    )


CONTENT_TYPE = st.sampled_from(
    [None, "application/rss+xml", "text/xml; charset=gbk", "application/feed+json", "text/html"]
)


def has_control(text: str) -> bool:
    """Control characters (C0 and C1), or lone surrogates (not even writable as UTF-8)."""
    return any(unicodedata.category(c) in ("Cc", "Cs") for c in text)


def parse_or_refuse(body: bytes, content_type: str | None) -> Feed | None:
    """The feed, or None for a FeedError; any other exception fails the test."""
    try:
        feed = parse_feed(body, content_type, BASE)
    except FeedError:
        return None
    for item in feed.items:
        assert item.url == "" or (
            item.url.startswith(("http://", "https://")) and not has_unsafe_scheme(item.url)
        ), item
        assert item.key, item
        assert not has_control(item.title), item
        assert not has_control(item.author or ""), item
        assert all(web_url(image.src) == image.src for image in item.images), item
    return feed


@share(1)
@example(b'{"version": "https://jsonfeed.org/version/1.1", "title": 1, "items": []}', None)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.tuples(
            st.sampled_from(
                [b"<?xml ", b"<rss>", b"<feed ", b"{", b"[", b"\xef\xbb\xbf<", b"\xff\xfe<"]
            ),
            st.binary(max_size=300),
        ).map(b"".join),
    ),
    CONTENT_TYPE,
)
def test_any_bytes_give_a_feed_or_a_feed_error(body: bytes, content_type: str | None) -> None:
    parse_or_refuse(body, content_type)


@share(1)
@example(b"<rss><channel><item><guid>g</guid><title>\xc2\x80</title></item></channel></rss>", None)
@example(
    b"<rss><channel><item><guid>g</guid><description>\xc2\x9b</description></item></channel></rss>",
    None,
)
@example(
    b"<rss><channel><item><guid>g</guid><author>\xc2\x80</author></item></channel></rss>", None
)
@given(truncated(rss_feed()), CONTENT_TYPE)
def test_hostile_rss_items_are_clean(body: bytes, content_type: str | None) -> None:
    parse_or_refuse(body, content_type)


@share(1)
@given(truncated(atom_feed()), CONTENT_TYPE)
def test_hostile_atom_entries_are_clean(body: bytes, content_type: str | None) -> None:
    parse_or_refuse(body, content_type)


@share(1)
@example(b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"author": 1.0}]}', None)
@example(b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"date_modified": 1}]}', None)
@example(b'{"version": "https://jsonfeed.org/version/1.1", "items": "0"}', None)
@example(
    b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1", "title": "a\\ud800"}]}',
    None,
)
@given(truncated(json_feed()), CONTENT_TYPE)
def test_hostile_json_feed_items_are_clean(body: bytes, content_type: str | None) -> None:
    parse_or_refuse(body, content_type)


# ---- HTML ---------------------------------------------------------------------------------

TAGS = [
    "a", "img", "p", "div", "span", "svg", "math", "script", "iframe", "form", "object", "embed",
    "style", "table", "td", "video", "audio", "source", "picture", "base", "meta", "link",
    "noscript", "template", "textarea", "title", "xmp", "select", "button", "input", "use",
    "animate", "set", "frameset", "details", "figure", "figcaption", "image", "SCRIPT", "ScRiPt",
]  # fmt: skip
ATTRIBUTES = [
    "href", "src", "cite", "poster", "srcset", "action", "formaction", "xlink:href", "data",
    "background", "style", "onclick", "onerror", "ONLOAD", "title", "alt", "id", "class", "rel",
    "type", "http-equiv", "content", "HREF", "Src", "attributename", "values", "to", "from",
    "lowsrc", "dynsrc", "longdesc", "codebase", "archive",
]  # fmt: skip
# What safe_links gets: content that nh3 cleaned once (an older version's, imported, edited by
# hand), so no active element and no event handler, but any URL attribute.
PASSIVE_TAGS = [t for t in TAGS if t.lower() not in ("script", "iframe", "object", "embed")]
PASSIVE_TAGS = [t for t in PASSIVE_TAGS if t.lower() not in ("base", "frameset", "form", "meta")]
PASSIVE_ATTRIBUTES = [a for a in ATTRIBUTES if not a.lower().startswith("on")]
# The same noise as HTML writes it: characters and character references.
HTML_NOISE = [*IGNORED_IN_URL, "&#x09;", "&#10;", "&#13;", "&Tab;", "&NewLine;", "&#0;", "&#x0"]
ENTITY_SCHEMES = ["&#106;avascript:", "&#x6A;avascript:", "java&#x09;script:", "&#x64;ata:"]
URL_VALUE = st.one_of(
    disguised_scheme(HTML_NOISE),
    st.sampled_from(ENTITY_SCHEMES + TRICKY),
    st.builds("{}{}".format, st.sampled_from(ENTITY_SCHEMES), TEXT),
    TEXT,
)


@st.composite
def attribute(draw: st.DrawFn, names: list[str], values: st.SearchStrategy[str]) -> str:
    name = draw(st.sampled_from(names))
    value = draw(values)
    quote = draw(st.sampled_from(['"', "'", ""]))
    separator = draw(st.sampled_from([" ", "\n", "\t", "\x0c", "/", " / ", ""]))
    around = draw(st.sampled_from(["=", " = ", "\n=\n"]))
    return f"{separator}{name}{around}{quote}{value}{quote}"


@st.composite
def element(
    draw: st.DrawFn,
    inner: st.SearchStrategy[str],
    tags: list[str],
    names: list[str],
    values: st.SearchStrategy[str],
) -> str:
    tag = draw(st.sampled_from(tags))
    attributes = "".join(draw(st.lists(attribute(names, values), max_size=3)))
    closing = draw(st.sampled_from([f"</{tag}>", "", f"</{tag}", "/>"]))
    return f"<{tag}{attributes}>{draw(inner)}{closing}"


HTML_TEXT = st.one_of(TEXT, st.sampled_from(TRICKY + HTML_NOISE + ENTITY_SCHEMES))
VALUE = st.one_of(URL_VALUE, TEXT)


def markup(
    text: st.SearchStrategy[str], tags: list[str], names: list[str], values: st.SearchStrategy[str]
) -> st.SearchStrategy[str]:
    return st.recursive(
        text,
        lambda inner: st.one_of(
            element(inner, tags, names, values),
            st.lists(inner, min_size=2, max_size=4).map("".join),
        ),
        max_leaves=8,
    )


def lt_escaped(text: str) -> str:
    return text.replace("<", "&lt;")


HTML = markup(st.one_of(HTML_TEXT, st.sampled_from(PAYLOADS)), TAGS, ATTRIBUTES, VALUE)
# `<` escaped in text and values as nh3 writes it, so text cannot hold a <script> of its own
PASSIVE_HTML = markup(
    HTML_TEXT.map(lt_escaped), PASSIVE_TAGS, PASSIVE_ATTRIBUTES, VALUE.map(lt_escaped)
)
PAGE_BASE = st.sampled_from(
    [BASE, "http://example.org/", "https://news.example.com/a/b/c.html?x=1#y", "", "javascript:x"]
)


@share(1)
@example("<p>a&#1;b&#xfffe;c</p>", BASE)
@given(HTML, PAGE_BASE)
def test_sanitized_html_is_inert(html: str, base: str) -> None:
    cleaned = sanitize_html(html, base)
    assert active_markup(cleaned) == [], cleaned
    assert not has_control(cleaned.replace("\n", "").replace("\t", "")), cleaned


@share(1)
@example('<a\x0chref="javascript:alert(1)">\ufeff</a>', BASE)  # left "\ufeff", then ""
@example("&#xfeff;x", BASE)
@example("a&#x0c;b", BASE)
@example("&#13", BASE)  # "\r", then "\n"
@example("<p><object><div>X</div></object></p>", BASE)  # the div moved out of the p, later
@given(HTML, PAGE_BASE)
def test_sanitizing_twice_changes_nothing(html: str, base: str) -> None:
    once = sanitize_html(html, base)
    assert sanitize_html(once, base) == once


@share(1)
@given(HTML)
def test_reader_html_is_inert(html: str) -> None:
    assert active_markup(reader_html(html)) == []
    proxied = reader_html(html, lambda url: "/image?url=" + url)
    assert active_markup(proxied) == []


@share(1)
@example("\ufffe", BASE)
@example("&#xfffe;", BASE)
@example("\x80", BASE)
@given(HTML, PAGE_BASE)
def test_text_and_images_read_any_sanitized_html(html: str, base: str) -> None:
    text, images = text_and_images(sanitize_html(html, base))
    assert not has_control(text.replace("\n", "")), text
    assert all(web_url(image.src) == image.src for image in images), images


# ---- the URL rule -------------------------------------------------------------------------

URL = st.one_of(
    st.lists(st.one_of(TRICKY_OR_TEXT, st.sampled_from(IGNORED_IN_URL)), max_size=5).map("".join),
    st.builds(
        "{}{}{}".format,
        st.sampled_from(["http://", "https://", "HTTP://", "//", "/", "", "https://[::1]"]),
        st.sampled_from(["news.example.com", "xn--fiq.example", "a:b@c", "[::1", "例子.测试"]),
        TEXT,
    ),
)
ANY_BASE = st.one_of(st.sampled_from(["", BASE, "javascript:x", "//h/"]), URL)


def is_clean_web_url(url: str) -> bool:
    return url.startswith(("http://", "https://")) and not any(
        c.isspace() or unicodedata.category(c) == "Cc" for c in url
    )


@share(2)
@example("HTTP://news.example.com/", "")  # was kept as HTTP://
@example("/a", "http://news.example.com ")  # joined to the base with its space
@example("/a", 'http://news.example.com"')
@given(URL, ANY_BASE)
def test_web_url_gives_a_clean_web_url_or_nothing(url: str, base: str) -> None:
    result = web_url(url, base)
    assert result == "" or is_clean_web_url(result), result
    assert web_url(result) == result
    assert web_url(result, base) == result


@share(2)
@given(disguised_scheme(), ANY_BASE)
def test_a_disguised_script_url_is_refused(url: str, base: str) -> None:
    assert web_url(url) == ""
    assert web_url(url, base) == ""
    assert has_unsafe_scheme(url)


def parses(url: str) -> bool:
    try:
        urlsplit(url)
    except ValueError:  # "http://[": no URL at all, which safe_links also removes
        return False
    return True


SAFE_URL = st.one_of(
    st.builds("{}{}".format, st.sampled_from(["http://", "https://", "HTTPS://"]), URL),
    st.builds("{}{}".format, st.sampled_from(["/", "./", "?", "#", "//"]), URL).map(
        lambda url: url.replace(":", "/")  # relative: no scheme
    ),
).filter(parses)


@st.composite
def safe_element(draw: st.DrawFn) -> str:
    """A tag whose URL attributes are all http(s) or relative."""
    tag = draw(st.sampled_from(TAGS))
    attributes = []
    for name in draw(st.lists(st.sampled_from(ATTRIBUTES), max_size=3)):
        value = escape(draw(SAFE_URL), {'"': "&quot;"})
        separator = draw(st.sampled_from([" ", "\n", "\t", "/", ""]))
        attributes.append(f'{separator}{name}="{value}"')
    return f"<{tag}{''.join(attributes)}>{escape(draw(TEXT))}</{tag}>"


@share(1)
@given(st.lists(safe_element(), max_size=5).map("".join))
def test_safe_links_leaves_safe_markup_byte_identical(markup: str) -> None:
    assert safe_links(markup) == markup


@share(1)
@example('<a/href="javascript:alert(1)">x</a>')
@example('<a title="x"href="javascript:alert(1)">x</a>')
@example("<a title='x'href=javascript:alert(1)>x</a>")
@example('<img srcset="data:image/svg+xml,x 1x">')
@given(PASSIVE_HTML)
def test_safe_links_leaves_no_unsafe_url_attribute(markup: str) -> None:
    assert active_markup(safe_links(markup)) == []


# ---- markdown -----------------------------------------------------------------------------

LINE = st.lists(
    st.one_of(
        st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\n\r"), max_size=20),
        st.sampled_from(["&lt;", "&gt;", "&amp;", "](", "]\\(", "\\", "]", "[", "<", ">", "&"]),
    ),
    max_size=6,
).map("".join)
SINGLE_LINE = st.text(st.characters(exclude_categories=["Cs"]), max_size=60).filter(
    lambda text: len(text.splitlines()) <= 1
)
ARTICLE_URL = URL.map(web_url).filter(bool)


@share(2)
@example("&lt;")  # read back as "<"
@example("a]\\(b")  # read back as "a](b"
@given(LINE)
def test_markdown_titles_read_back_as_written(title: str) -> None:
    written = markdown_title(title)
    assert "<" not in written and ">" not in written and "](" not in written
    assert plain_title(written) == title.strip()


@share(1)
@example("t", "http://a.example/](b)", "", 0)  # read back as title "t](http://a.example/"
@example("&gt;", "http://a.example/", "<p>x</p>", 1)
@given(LINE, ARTICLE_URL, SINGLE_LINE, st.integers(-(2**62), 2**62))
def test_an_article_file_reads_back_as_written(
    title: str, url: str, content: str, published: int
) -> None:
    article = Article(
        source="s", url=url, title=title, html=content, text="", published=published, fetched=0
    )
    written = render_article(article)
    title_line = written.split("\n")[1]
    assert "<" not in title_line and title_line.count("](") == 1, title_line
    parsed = parse_article(written, "fuzz")
    assert (parsed.published, parsed.title, parsed.content) == (
        published,
        title.strip(),
        content.strip(),
    )
    # unbalanced parentheses are written percent-encoded: the same address
    assert parsed.url.replace("%28", "(").replace("%29", ")") == url.replace("%28", "(").replace(
        "%29", ")"
    )


# What two fast paths must answer exactly as the patterns they replaced did.
_BLOCK_IN_P_PATTERN = re.compile(
    r"<p\b[^>]*>(?:(?!</p>).)*?<(?:div|p|ul|ol|table|h[1-6]|blockquote|pre|figure|section|article|hr)\b",
    re.S,
)
_MARKUP_PIECES = st.sampled_from(
    ["<p>", "</p>", "<p class='x'>", "<P>", "<p\n>", "</p", "<p", ">", "<div>", "<pre>", "<param>",
     "<h1", "<h7>", "<hr/>", "<ul ", "<o", "l>", "<td>", "x", "\n", "é"]
)  # fmt: skip


@given(st.lists(_MARKUP_PIECES, max_size=14).map("".join))
@share(2)
def test_block_in_paragraph_as_the_pattern_found_it(markup: str) -> None:
    assert _block_in_p(markup) == bool(_BLOCK_IN_P_PATTERN.search(markup))


_ADDRESS_PIECES = st.sampled_from(
    ["MISSING", "Lazy", "grey.", "Gray.", "1X1", "pixel", "trans", "parent", "ſpacer", "spacer",
     "/img/", ".png", "é", "K", "x"]
)  # fmt: skip


@given(st.lists(_ADDRESS_PIECES, max_size=6).map("".join))
@share(2)
def test_placeholder_addresses_as_the_pattern_found_them(src: str) -> None:
    assert _placeholder(src) == bool(_PLACEHOLDER.search(src))


# The parse of a valid UTF-8 page from its bytes must give the tree its text gives.
_PAGE_PIECES = st.sampled_from(
    ["<p>", "</p>", "<div>", "</body>", "</BODY\u3000>", "</Html\n>", "</html\xa0 >", "</body",
     "<?xml version='1.0'?>", "\x00", "\u3000", "\x1c", " ", "\n", "中文，", "é", "<br>", "<a>",
     "</a>", "<!-- c -->", "<meta charset=gbk>", "\u2028", "\x85", "&amp;", "<", ">"]
)  # fmt: skip


def _tree_or_refusal(parse: object) -> str:
    try:
        tree, read_all = parse()  # type: ignore[operator]
    except NoArticle as exc:
        return f"refused: {exc}"
    return lxml.html.tostring(tree, encoding="unicode") + f" {read_all}"


@given(st.lists(_PAGE_PIECES, max_size=16).map("".join))
@share(2)
def test_a_utf8_page_parses_from_bytes_as_from_text(page: str) -> None:
    def pieces() -> Iterator[str]:
        return iter([page])

    from_bytes = _tree_or_refusal(lambda: _parse_utf8(page.encode()) or _parse(pieces))
    assert from_bytes == _tree_or_refusal(lambda: _parse(pieces))


# The URLs web_url passes without parsing must be those the parse would return unchanged.
_URL_PIECES = st.sampled_from(
    ["/", "?", "#", "%20", " ", "\t", "\x00", "\u200b", '"', "<", ">", "`", "\\", "^", "{",
     "}", "|", "~", "'", "&amp;", "é", "x", ".", "@", ":", ":80", ":99999", "[::1]", "[", "]"]
)  # fmt: skip
_URL_STARTS = st.sampled_from(
    ["http://", "https://", "HTTP://", "ftp://", "javascript:", "//", "", " http://"]
)
_URL_HOSTS = st.sampled_from(["news.example.com", "a.b-c", "例子", "a@b", "", "x:1", "[::1]"])


@given(
    st.tuples(_URL_STARTS, _URL_HOSTS, st.lists(_URL_PIECES, max_size=6).map("".join)).map("".join),
    st.sampled_from(["", BASE]),
)
@share(2)
def test_web_url_passes_only_what_its_parse_keeps_as_it_is(url: str, base: str) -> None:
    assert web_url(url, base) == _parsed_web_url(url, base)


@pytest.mark.parametrize(
    "template",
    ["http://news.example.com/a{}b", "https://news.example.com{}", "http://news{}example.com/",
     "http://news.example.com/{}", "http{}://news.example.com/", "https://{}"],
)  # fmt: skip
def test_web_url_passes_no_character_its_parse_would_change(template: str) -> None:
    for code in [*range(0x2100), 0x3000, 0xFEFF, 0xFFFD]:
        url = template.format(chr(code))
        assert web_url(url) == _parsed_web_url(url, ""), url
