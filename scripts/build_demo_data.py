"""Build the demo data that ``newsvault demo`` serves from a loopback server and archives offline.

Rerun it from the project root after changing anything here (the output is deterministic, so an
unchanged script rewrites identical bytes):

    .venv/bin/python scripts/build_demo_data.py

Everything is generated from the shared, read-only material next to the project
(``../shared``): the two seed documents and real pages of ``datasets/gne-pages``, plus one real
Big5 feed from ``datasets/hostile/charsets``. No news text is written here: titles, bodies,
bylines and dates are read from those files, by the per-site XPath rules below.

Output, under ``newsvault/demo/data/``:

- ``site/``: the files the demo serves, each at ``site/<host><path>`` of the real URL it stands
  for: the demo's fetcher sends every request to its loopback server (see ``newsvault.demo``),
  so the feeds link to the articles' real addresses and the archive keeps those. Each article
  page is a dataset file's exact bytes, fetched and extracted by the demo as a real page is.
- ``demo.toml``: one ``[[sources]]`` table per feed (``slug``, ``name``, ``url``: the feed's
  address, ``note``: what it is, and ``fetch_full = "never"`` where no article page was
  recorded) and a ``[headers]`` table giving the response headers (``Content-Type`` with its
  charset) of every file under ``site/``.
- ``SOURCES.md``: where every item came from.

A feed recorded from an outlet's feed has that feed's address; a feed assembled here from saved
pages (no such feed exists) and a page whose address is not known have one under
``demo.newsvault.invalid``, a name that never resolves (RFC 2606): outside the demo nothing
answers there, and nothing is claimed of a real site.

The sources: ``voa`` (RSS 2.0, ``content:encoded``: full text in the feed; its one item is seed
000, its images taken back from the image proxy the seed went through), ``bannedbook`` (RSS 2.0,
a summary; seed 002 wrapped into a page), ``sina`` (RSS 2.0 encoded in GBK, summaries),
``thepaper`` (Atom 1.0, summaries), ``ifeng`` (JSON Feed 1.1, summaries) and ``coolloud`` (RSS
2.0 encoded in Big5, traditional script, the outlet's summaries, no page recorded). Summaries
are an article's first ``SUMMARY_CHARS`` characters, as feeds set to "summary" give them.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import tomlkit
from lxml import etree
from lxml import html as lxml_html

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"  # read-only seeds and datasets, next to the project
GNE = SHARED / "datasets" / "gne-pages"
SEEDS = SHARED / "seeds"
BIG5_FEED = SHARED / "datasets" / "hostile" / "charsets" / "Big5" / "coolloud.org.tw.xml"
OUT = REPO / "newsvault" / "demo" / "data"
SITE = OUT / "site"

DEMO = "https://demo.newsvault.invalid"  # what no real address is known for (see above)
SUMMARY_CHARS = 120
CST = timezone(timedelta(hours=8), "CST")  # China/Taiwan time, UTC+8: the pages' own dates

NS_CONTENT = "http://purl.org/rss/1.0/modules/content/"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_ATOM = "http://www.w3.org/2005/Atom"
NS_RSS1 = "http://purl.org/rss/1.0/"

HTML_UTF8 = "text/html; charset=utf-8"
IMAGE_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
}


@dataclass(frozen=True)
class Item:
    """One feed item, in a form every feed writer below can render."""

    title: str
    link: str
    guid: str
    published: datetime
    content_html: str | None = None
    summary: str | None = None
    author: str | None = None
    image: str | None = None
    categories: tuple[str, ...] = ()
    guid_is_link: bool = False


@dataclass(frozen=True)
class Channel:
    """Feed-level metadata, and what the demo's newsvault.toml says of the feed."""

    slug: str
    name: str
    feed_url: str  # the address the archive follows; the feed is served at site_path() of it
    home: str
    description: str
    language: str
    items: tuple[Item, ...]
    note: str  # a comment over the source in the demo archive's newsvault.toml
    pages_recorded: bool = True  # False: the demo fetches no article page (fetch_full = "never")
    timezone: str | None = None  # the outlet's zone, where it is not UTC+8

    @property
    def feed_file(self) -> str:
        return site_path(self.feed_url)


@dataclass
class Site:
    """What is written under ``site/``: relative path -> (bytes, Content-Type)."""

    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)

    def add(self, path: str, data: bytes, content_type: str) -> None:
        if path in self.files:
            raise ValueError(f"two files for site/{path}")
        self.files[path] = (data, content_type)


# ---------------------------------------------------------------------------------------------
# Reading saved pages (datasets/gne-pages)


@dataclass(frozen=True)
class SiteRules:
    """Where one site's pages keep their article: XPath choices made by reading the pages."""

    title: str
    body: str
    date: str
    drop: tuple[str, ...] = ()
    byline: str | None = None
    main_image_in_body: bool = False


COMMON_DROP = (".//script", ".//style", ".//noscript")

RULES: dict[str, SiteRules] = {
    # news.sina.com.cn / finance.sina.com.cn: <h1 class="main-title">, body in div#article (news)
    # or div#artibody (finance); the date sits in div.date-source > span.date. Dropped: the video
    # player (div.video-2017), the topic link box (div.wap_special) and p.show_author, which is
    # the editor ("责任编辑：..."), not the writer.
    "sina": SiteRules(
        title='//h1[@class="main-title"]',
        body='//div[@id="article" or @id="artibody"]',
        date='//div[@class="date-source"]/span[@class="date"]',
        drop=(
            './/div[contains(@class, "video-2017")]',
            './/div[@class="wap_special"]',
            './/p[contains(@class, "show_author")]',
        ),
    ),
    # www.thepaper.cn: <h1 class="news_title">, body in div.news_txt (text split by <br>, not <p>),
    # div.news_about holds the byline (first <p>, empty on some pages) and the date (second <p>).
    # Dropped: div.hide_word, a hidden "本文来自澎湃新闻..." line. No og:image: the main image is
    # the first non-GIF image of the body (the GIFs there are decorative dividers).
    "thepaper": SiteRules(
        title='//h1[@class="news_title"]',
        body='//div[@class="news_txt"]',
        date='//div[@class="news_about"]/p[2]',
        drop=('.//div[contains(@class, "hide_word")]',),
        byline='//div[@class="news_about"]/p[1]',
        main_image_in_body=True,
    ),
    # news.ifeng.com / ent.ifeng.com (React build, hashed class names): <h1 class="topic-...">,
    # body in div.main_content-..., date in the info bar's p.time-... ("2019年11月25日 16:04:30
    # 来源：..."). Dropped: div.end-..., the end-of-article marker.
    "ifeng": SiteRules(
        title='//h1[starts-with(@class, "topic-")]',
        body='//div[starts-with(@class, "main_content-")]',
        date='//div[starts-with(@class, "info-")]/p[starts-with(@class, "time-")]',
        drop=('.//div[starts-with(@class, "end-")]',),
    ),
}

# Bylines that a page gives only in running text, labelled by hand from that text.
BYLINE_LABELS: dict[str, str] = {
    # The body opens "原创： 路闻卓立编译 人民币交易与研究": compiled by 路闻卓立 for that account.
    "sina/3.html": "路闻卓立",
    # The body opens with a <strong> line "澎湃新闻记者 段彦超 廖艳".
    "ifeng/1.html": "澎湃新闻记者 段彦超 廖艳",
}

BLOCK_TAGS = frozenset(
    (
        "address", "article", "aside", "blockquote", "br", "center", "dd", "div", "dl", "dt",
        "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
        "li", "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
        "ul",
    )
)  # fmt: skip

DATE_RE = re.compile(
    r"(\d{4})\s*[年-]\s*(\d{1,2})\s*[月-]\s*(\d{1,2})\s*日?\s*(\d{1,2}):(\d{2})(?::(\d{2}))?"
)


def must_match(pattern: str, text: str) -> re.Match[str]:
    """``re.fullmatch`` that fails loudly: the inputs are fixed files, a miss is a bug."""
    match = re.fullmatch(pattern, text)
    if match is None:
        raise ValueError(f"{text[:80]!r} does not match {pattern!r}")
    return match


def child_text(node: etree._Element, path: str, namespaces: dict[str, str]) -> str:
    """The text of a required child element."""
    text = node.findtext(path, namespaces=namespaces)
    if text is None:
        raise ValueError(f"no {path} in {node.tag}")
    return text


def squash(text: str) -> str:
    """Collapse runs of white space (ASCII, no-break and ideographic spaces) into one space."""
    return " ".join(text.split())


def text_blocks(element: etree._Element) -> list[str]:
    """The text of ``element`` cut at block boundaries (<p>, <div>, <br>, ...), one per block."""
    blocks: list[str] = []
    buffer: list[str] = []

    def flush() -> None:
        text = squash("".join(buffer))
        if text:
            blocks.append(text)
        buffer.clear()

    def walk(node: etree._Element) -> None:
        is_block = isinstance(node.tag, str) and node.tag.lower() in BLOCK_TAGS
        if is_block:
            flush()
        if isinstance(node.tag, str) and node.text:
            buffer.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                buffer.append(child.tail)
        if is_block:
            flush()

    walk(element)
    flush()
    return blocks


def parse_date(text: str) -> datetime:
    """A page's own date ("2019年09月07日 04:04", "2019-09-24 09:10"), in UTC+8."""
    match = DATE_RE.search(text)
    if match is None:
        raise ValueError(f"no date in {text!r}")
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    return datetime(year, month, day, hour, minute, second, tzinfo=CST)


def page_url(raw: str, doc: lxml_html.HtmlElement) -> str:
    """The page's own URL: the ``<!-- URL -->`` first line the dataset adds, else og:url, else
    thepaper's ``contid`` (its article URLs are ``/newsDetail_forward_<contid>``)."""
    first = raw.split("\n", 1)[0].strip()
    match = re.fullmatch(r"<!--\s*(https?://\S+?)\s*-->", first)
    if match:
        return match.group(1)
    og = doc.xpath('string(//meta[@property="og:url"]/@content)').strip()
    if og:
        return og
    contid = re.search(r'data:\s*"contid=(\d+)"', raw)
    if contid:
        return f"https://www.thepaper.cn/newsDetail_forward_{contid.group(1)}"
    raise ValueError("page has no URL")


@dataclass(frozen=True)
class Page:
    """An article read from a saved page."""

    dataset_path: str
    raw: bytes
    url: str
    title: str
    published: datetime
    blocks: tuple[str, ...]
    author: str | None
    image: str | None


def read_page(dataset_path: str) -> Page:
    """Read one gne page with its site's rules."""
    site = dataset_path.split("/", 1)[0]
    rules = RULES[site]
    raw = (GNE / dataset_path).read_bytes()
    text = raw.decode("utf-8")
    doc = lxml_html.fromstring(text)
    charset = doc.xpath(
        'string((//meta[@charset]/@charset | //meta[contains(@content, "charset")]/@content)[1])'
    )
    if "utf-8" not in charset.lower():
        raise ValueError(f"{dataset_path}: declares {charset!r}; its copy would need re-encoding")
    url = page_url(text, doc)
    title = squash(doc.xpath(rules.title)[0].text_content())
    published = parse_date(doc.xpath(rules.date)[0].text_content())
    body = doc.xpath(rules.body)[0]
    for xpath in COMMON_DROP + rules.drop:
        for node in body.xpath(xpath):
            node.drop_tree()
    blocks = tuple(text_blocks(body))
    author = BYLINE_LABELS.get(dataset_path)
    if author is None and rules.byline:
        author = squash(doc.xpath(rules.byline)[0].text_content()) or None
    image = doc.xpath('string(//meta[@property="og:image"]/@content)').strip()
    if not image and rules.main_image_in_body:
        sources = [src for src in body.xpath(".//img/@src") if not src.lower().endswith(".gif")]
        image = sources[0] if sources else ""
    return Page(
        dataset_path=dataset_path,
        raw=raw,
        url=url,
        title=title,
        published=published,
        blocks=blocks,
        author=author,
        image=urljoin(url, image) if image else None,
    )


def site_path(url: str) -> str:
    """Where the file standing for `url` is served: ``<host><path>``, as the demo's fetcher
    asks for it (see newsvault.demo.local_url)."""
    parts = urlsplit(url)
    if parts.query or parts.fragment or not parts.path or parts.path.endswith("/"):
        raise ValueError(f"{url}: not a file path")
    return f"{parts.hostname}{parts.path}"


def summary_of(blocks: Sequence[str]) -> str:
    """A feed's summary of an article: its first SUMMARY_CHARS characters."""
    return "".join(blocks)[:SUMMARY_CHARS] + "…"


def page_items(dataset_paths: Sequence[str], site: Site) -> tuple[Item, ...]:
    """Summary items of saved pages; each page is served at its own URL, for the demo to
    fetch and extract."""
    items = []
    for dataset_path in dataset_paths:
        page = read_page(dataset_path)
        site.add(site_path(page.url), page.raw, HTML_UTF8)
        items.append(
            Item(
                title=page.title,
                link=page.url,
                guid=page.url,
                guid_is_link=True,
                published=page.published,
                summary=summary_of(page.blocks),
                author=page.author,
                image=page.image,
            )
        )
    return newest_first(items)


def newest_first(items: Sequence[Item]) -> tuple[Item, ...]:
    """Sort by date, newest first; ties keep their given order."""
    return tuple(sorted(items, key=lambda item: item.published, reverse=True))


# ---------------------------------------------------------------------------------------------
# The sources


def read_seed(name: str) -> str:
    return (SEEDS / name).read_text(encoding="utf-8")


# The image proxy seed 000's archiver put in front of VOA's images: https://images.weserv.nl?url=
# followed by the image's address without its scheme.
IMAGE_PROXY = re.compile(r"https://images\.weserv\.nl/?\?url=([^\s\"'<>&]+)")


def unproxied(content: str) -> str:
    """Content with its images at their own address again, as VOA's feed gave them."""

    def origin(match: re.Match[str]) -> str:
        target = unquote(match.group(1))
        return target if target.startswith(("http://", "https://")) else "https://" + target

    return IMAGE_PROXY.sub(origin, content)


def voa_channel() -> Channel:
    """Seed 000: the archived Voice of America item, as the RSS item it was archived from.

    Line 1 of the seed is ``<!--published ms-->`` (1718805542000 = Wed, 19 Jun 2024 13:59:02
    GMT), line 2 ``[title](url)``, line 5 the content HTML, used here with its images at their
    own address (the seed's archiver sent them through an image proxy; VOA's feed did not). The
    pubDate follows line 1 to the second. Note: the content itself opens with a different time,
    ``<i>Wed, 19 Jun 2024 13:39:24 GMT</i>``, 19 min 38 s earlier; it is left as it is.

    The datasets hold no other VOA article, so this feed has this one item: items from other
    outlets would credit their articles to VOA. Its address is VOA's Chinese feed, the one
    ``newsvault init`` follows.
    """
    lines = read_seed("000_246f2ee7f0d083f4.txt").split("\n")
    published_ms = int(must_match(r"<!--(\d+)-->", lines[0]).group(1))
    title, url = must_match(r"\[(.*)\]\((\S+)\)", lines[1]).groups()
    if lines[2] != "------" or lines[3] != "":
        raise ValueError("seed 000 is not in the markdown archive format")
    content = unproxied(lines[4])
    first_image = re.search(r'<img [^>]*?src="([^"]+)"', content)
    item = Item(
        title=title,
        link=url,
        guid=url,
        guid_is_link=True,
        published=datetime.fromtimestamp(published_ms / 1000, tz=UTC),
        content_html=content,
        image=first_image.group(1) if first_image else None,
    )
    return Channel(
        slug="voa",
        name="美国之音",
        feed_url="https://www.voachinese.com/api/zm_yql-vomx-tpeybti",
        home="https://www.voachinese.com/",
        description="美国之音",
        language="zh-cn",
        items=(item,),
        note="Voice of America's Chinese feed; the demo's copy holds one item, full text.",
    )


# Seed 002's own address is not known (it is not in the saved region): one under the demo's
# reserved name stands for it.
BANNEDBOOK_SEED_URL = f"{DEMO}/bannedbook/a6ba42a6f3b08c10.html"
# Seed 002 shows no date. Fixed date: the treaty it reports was signed on 19 June 2024, and the
# page's own related-articles list dates its nearest sibling story 20240620.
BANNEDBOOK_SEED_DATE = datetime(2024, 6, 20, tzinfo=CST)


def bannedbook_channel(site: Site) -> Channel:
    """Seed 002 (the article region of a bannedbook.org page), wrapped into a page.

    A summary only, like a WordPress feed set to "summary": the demo fetches the page and
    extracts the article from it. The articles of the page's "相关阅读" list are left out: the
    datasets hold nothing of them but a title and a link, and an archive of titles alone would
    show empty articles.
    """
    region = read_seed("002_a6ba42a6f3b08c10.txt")
    doc = lxml_html.fromstring(f"<div>{region}</div>")
    title = squash(doc.xpath("//h2")[0].text_content())
    entry = doc.xpath('//div[@class="entry"]')[0]
    byline = squash(entry.xpath("./p[1]")[0].text_content())
    author = must_match(r"作者：\s*(.+)", byline).group(1)
    text_paragraphs = [
        squash(p.text_content())
        for p in entry.xpath("./p[not(@class)]")[1:]
        if squash(p.text_content())
    ]
    page = (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title, quote=False)}</title>\n</head>\n<body>\n"
        "<!-- newsvault demo: the next line, up to </body>, is the article region of a "
        "bannedbook.org page exactly as saved (seed 002_a6ba42a6f3b08c10); the rest of the page "
        "was not saved, and this wrapper is not the original's. -->\n"
        f"{region}\n</body>\n</html>\n"
    )
    site.add(site_path(BANNEDBOOK_SEED_URL), page.encode("utf-8"), HTML_UTF8)
    item = Item(
        title=title,
        link=BANNEDBOOK_SEED_URL,
        guid=BANNEDBOOK_SEED_URL,
        guid_is_link=True,
        published=BANNEDBOOK_SEED_DATE,
        summary=summary_of(text_paragraphs),
        author=author,
    )
    return Channel(
        slug="bannedbook",
        name="禁闻网",
        feed_url=f"{DEMO}/bannedbook/rss.xml",
        home="https://www.bannedbook.org/",
        description="禁闻网",
        language="zh-cn",
        items=(item,),
        note=ASSEMBLED.format(what="a page saved from bannedbook.org"),
    )


# The note over a feed this script assembled from saved pages.
ASSEMBLED = "A feed the demo assembled from {what}; nothing answers at this address."


def sina_channel(site: Site) -> Channel:
    return Channel(
        slug="sina",
        name="新浪新闻",
        feed_url=f"{DEMO}/sina/rss.xml",
        home="https://news.sina.com.cn/",
        description="新浪新闻",
        language="zh-cn",
        items=page_items(["sina/sina.html", "sina/3.html", "sina/5.html"], site),
        note=ASSEMBLED.format(what="three pages saved from sina.com.cn"),
    )


def thepaper_channel(site: Site) -> Channel:
    return Channel(
        slug="thepaper",
        name="澎湃新闻",
        feed_url=f"{DEMO}/thepaper/atom.xml",
        home="https://www.thepaper.cn/",
        description="澎湃新闻",
        language="zh-CN",
        items=page_items(["thepaper/1.html", "thepaper/3.html", "thepaper/4.html"], site),
        note=ASSEMBLED.format(what="three pages saved from thepaper.cn"),
    )


def ifeng_channel(site: Site) -> Channel:
    return Channel(
        slug="ifeng",
        name="凤凰网",
        feed_url=f"{DEMO}/ifeng/news.feed.json",
        home="https://www.ifeng.com/",
        description="凤凰网",
        language="zh-CN",
        items=page_items(["ifeng/ifeng.html", "ifeng/1.html", "ifeng/2.html"], site),
        note=ASSEMBLED.format(what="three pages saved from ifeng.com"),
    )


COOLLOUD_ITEMS = 6


def coolloud_channel() -> Channel:
    """The newest items of a real Big5 RSS 1.0 feed of 苦勞網 (coolloud.org.tw, Taiwan), 2005.

    The only traditional-script news in the datasets. Its items carry the outlet's own summary
    (cut off by the outlet, often mid-sentence or with "..."), no full text, and no saved page:
    the demo fetches no page of this source. Titles keep their line breaks (the outlet puts
    subtitles on a new line). Its address is the outlet's feed today.
    """
    # Decoded by Python's big5 codec: lxml (libxml2 2.14) stops on the raw file with "Invalid
    # bytes in character encoding", though Python decodes all of it. The feed is not well-formed
    # further down either (the outlet cut a summary inside a character reference, "&#2..."),
    # hence recover=True; the items used here are intact.
    text = BIG5_FEED.read_bytes().decode("big5")
    text = re.sub(r"^<\?xml[^>]*\?>", "", text)
    root = etree.fromstring(text.encode("utf-8"), etree.XMLParser(recover=True))
    ns = {"rss": NS_RSS1, "dc": NS_DC}
    channel = root.find("rss:channel", ns)
    if channel is None:
        raise ValueError(f"{BIG5_FEED} has no channel")
    items = []
    for node in root.findall("rss:item", ns)[:COOLLOUD_ITEMS]:
        link = child_text(node, "rss:link", ns).strip()
        items.append(
            Item(
                title=child_text(node, "rss:title", ns),
                link=link,
                guid=link,
                guid_is_link=True,
                published=datetime.fromisoformat(child_text(node, "dc:date", ns)),
                summary=node.findtext("rss:description", namespaces=ns),
                author=squash(node.findtext("dc:creator", namespaces=ns) or "") or None,
                categories=tuple(c.text for c in node.findall("rss:category", ns) if c.text),
            )
        )
    return Channel(
        slug="coolloud",
        name=child_text(channel, "rss:title", ns),
        feed_url="https://www.coolloud.org.tw/rss.xml",
        home=child_text(channel, "rss:link", ns),
        description=child_text(channel, "rss:description", ns),
        language="zh-tw",
        items=newest_first(items),
        note="The feed of 苦勞網; the demo's copy holds six items of 2005, summaries only.",
        pages_recorded=False,
        timezone="Asia/Taipei",
    )


# ---------------------------------------------------------------------------------------------
# Feed writers


def rfc822(moment: datetime) -> str:
    if moment.utcoffset() == timedelta(0):
        return format_datetime(moment.astimezone(UTC), usegmt=True)
    return format_datetime(moment)


def xml_bytes(root: etree._Element, encoding: str) -> bytes:
    """Serialize with a double-quoted declaration naming ``encoding``; characters the encoding
    lacks become character references (so no CDATA outside UTF-8)."""
    body = etree.tostring(root, encoding="unicode", pretty_print=True)
    if encoding != "utf-8" and "<![CDATA[" in body:
        raise ValueError("CDATA cannot carry character references")
    declaration = f'<?xml version="1.0" encoding="{encoding}"?>\n'
    return (declaration + body).encode(encoding, errors="xmlcharrefreplace")


def image_type(url: str) -> str:
    suffix = Path(urlsplit(url).path).suffix.lower()
    return IMAGE_TYPES.get(suffix, "image/jpeg")


def sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    node = etree.SubElement(parent, tag, attrs)
    if text is not None:
        node.text = text
    return node


def rss2(channel: Channel, encoding: str = "utf-8", cdata: bool = False) -> bytes:
    """RSS 2.0, with ``content:encoded`` for full content and ``dc:creator`` for bylines."""
    rss = etree.Element(
        "rss",
        {"version": "2.0"},
        nsmap={"content": NS_CONTENT, "dc": NS_DC, "atom": NS_ATOM},
    )
    head = sub(rss, "channel")
    sub(head, "title", channel.name)
    sub(head, "link", channel.home)
    sub(head, "description", channel.description)
    sub(head, "language", channel.language)
    sub(head, "lastBuildDate", rfc822(channel.items[0].published))
    sub(
        head,
        f"{{{NS_ATOM}}}link",
        href=channel.feed_url,
        rel="self",
        type="application/rss+xml",
    )
    for item in channel.items:
        node = sub(head, "item")
        sub(node, "title", item.title)
        sub(node, "link", item.link)
        guid = sub(node, "guid", item.guid)
        if not item.guid_is_link:
            guid.set("isPermaLink", "false")
        sub(node, "pubDate", rfc822(item.published))
        if item.author:
            sub(node, f"{{{NS_DC}}}creator", item.author)
        for category in item.categories:
            sub(node, "category", category)
        if item.summary is not None:
            sub(node, "description", item.summary)
        if item.content_html is not None:
            encoded = sub(node, f"{{{NS_CONTENT}}}encoded")
            encoded.text = etree.CDATA(item.content_html) if cdata else item.content_html
        if item.image:
            sub(node, "enclosure", url=item.image, length="0", type=image_type(item.image))
    return xml_bytes(rss, encoding)


def rfc3339(moment: datetime) -> str:
    return moment.isoformat()


def atom(channel: Channel) -> bytes:
    """Atom 1.0 with full content in ``<content type="html">``."""
    feed = etree.Element(f"{{{NS_ATOM}}}feed", nsmap={None: NS_ATOM})
    feed.set("{http://www.w3.org/XML/1998/namespace}lang", channel.language)
    a = f"{{{NS_ATOM}}}"
    sub(feed, a + "title", channel.name)
    sub(feed, a + "subtitle", channel.description)
    sub(feed, a + "id", channel.home)
    sub(feed, a + "link", href=channel.home, rel="alternate", type="text/html")
    sub(
        feed,
        a + "link",
        href=channel.feed_url,
        rel="self",
        type="application/atom+xml",
    )
    sub(feed, a + "updated", rfc3339(channel.items[0].published))
    author = sub(feed, a + "author")
    sub(author, a + "name", channel.name)
    for item in channel.items:
        entry = sub(feed, a + "entry")
        sub(entry, a + "title", item.title)
        sub(entry, a + "id", item.guid)
        sub(entry, a + "link", href=item.link, rel="alternate", type="text/html")
        sub(entry, a + "published", rfc3339(item.published))
        sub(entry, a + "updated", rfc3339(item.published))
        if item.author:
            byline = sub(entry, a + "author")
            sub(byline, a + "name", item.author)
        if item.image:
            sub(entry, a + "link", href=item.image, rel="enclosure", type=image_type(item.image))
        if item.summary is not None:
            sub(entry, a + "summary", item.summary)
        if item.content_html is not None:
            sub(entry, a + "content", item.content_html, type="html")
    return xml_bytes(feed, "utf-8")


def json_feed(channel: Channel) -> bytes:
    """JSON Feed 1.1: ``content_html``, or a ``summary`` (and, the spec wanting content, the
    same words as ``content_text``)."""
    items: list[dict[str, Any]] = []
    for item in channel.items:
        entry: dict[str, Any] = {"id": item.guid, "url": item.link, "title": item.title}
        if item.content_html is not None:
            entry["content_html"] = item.content_html
        else:
            entry["summary"] = entry["content_text"] = item.summary
        entry["date_published"] = rfc3339(item.published)
        if item.image:
            entry["image"] = item.image
        if item.author:
            entry["authors"] = [{"name": item.author}]
        items.append(entry)
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": channel.name,
        "home_page_url": channel.home,
        "feed_url": channel.feed_url,
        "description": channel.description,
        "language": channel.language,
        "items": items,
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


# ---------------------------------------------------------------------------------------------
# Putting it together


@dataclass(frozen=True)
class Source:
    channel: Channel
    render: Callable[[Channel], bytes]
    content_type: str
    format: str
    encoding: str


def build_sources(site: Site) -> list[Source]:
    return [
        Source(
            voa_channel(),
            lambda c: rss2(c, cdata=True),
            "application/rss+xml; charset=utf-8",
            "RSS 2.0, content:encoded",
            "utf-8",
        ),
        Source(
            bannedbook_channel(site),
            rss2,
            "application/rss+xml; charset=utf-8",
            "RSS 2.0, description only",
            "utf-8",
        ),
        Source(
            sina_channel(site),
            lambda c: rss2(c, encoding="gbk"),
            "application/rss+xml; charset=gbk",
            "RSS 2.0, description only",
            "gbk",
        ),
        Source(
            thepaper_channel(site),
            atom,
            "application/atom+xml; charset=utf-8",
            "Atom 1.0, summary only",
            "utf-8",
        ),
        Source(
            ifeng_channel(site),
            json_feed,
            "application/feed+json; charset=utf-8",
            "JSON Feed 1.1, summary and content_text",
            "utf-8",
        ),
        Source(
            coolloud_channel(),
            lambda c: rss2(c, encoding="big5"),
            "application/rss+xml; charset=big5",
            "RSS 2.0, description only",
            "big5",
        ),
    ]


def demo_toml(sources: Sequence[Source], site: Site) -> str:
    document = tomlkit.document()
    document.add(tomlkit.comment("Generated by scripts/build_demo_data.py; do not edit by hand."))
    document.add(tomlkit.comment("Each file is served at site/<host><path> of its URL."))
    tables = tomlkit.aot()
    for source in sources:
        channel = source.channel
        table = tomlkit.table()
        table.add("slug", channel.slug)
        table.add("name", channel.name)
        table.add("url", channel.feed_url)
        table.add("note", channel.note)
        if not channel.pages_recorded:
            table.add("fetch_full", "never")
        if channel.timezone:
            table.add("timezone", channel.timezone)
        tables.append(table)
    document.add("sources", tables)
    headers = tomlkit.table()
    for path in sorted(site.files):
        entry = tomlkit.inline_table()
        entry.add("Content-Type", site.files[path][1])
        headers.add(path, entry)
    document.add("headers", headers)
    return tomlkit.dumps(document)


def sources_md(sources: Sequence[Source]) -> str:
    lines = [
        "# Demo data: where it comes from",
        "",
        "Generated by `scripts/build_demo_data.py` from `../shared` (seeds and datasets); "
        "rerun it rather than editing these files.",
        "",
    ]
    origins = {
        "voa": "`seeds/000_246f2ee7f0d083f4.txt` (an archived VOA Chinese item).",
        "bannedbook": "`seeds/002_a6ba42a6f3b08c10.txt` (article region of a bannedbook.org "
        "page, its address not known), wrapped into a page.",
        "sina": "`datasets/gne-pages/sina/` (saved pages, copied byte for byte).",
        "thepaper": "`datasets/gne-pages/thepaper/` (saved pages, copied byte for byte).",
        "ifeng": "`datasets/gne-pages/ifeng/` (saved pages, copied byte for byte).",
        "coolloud": "`datasets/hostile/charsets/Big5/coolloud.org.tw.xml` (a real Big5 RSS 1.0 "
        "feed of 苦勞網, from chardet's test data, LGPL-2.1), first "
        f"{COOLLOUD_ITEMS} items.",
    }
    for source in sources:
        channel = source.channel
        lines.append(
            f"## {channel.slug}: {channel.name} (<{channel.feed_url}>, {source.format}, "
            f"{source.encoding})"
        )
        lines.append("")
        lines.append(f"From {origins[channel.slug]}")
        lines.append("")
        for item in channel.items:
            title = squash(item.title)
            lines.append(f"- {item.published.isoformat()} {title}: <{item.guid}>")
        lines.append("")
    return "\n".join(lines)


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def main() -> None:
    site = Site()
    sources = build_sources(site)
    for source in sources:
        site.add(source.channel.feed_file, source.render(source.channel), source.content_type)
    if SITE.exists():
        shutil.rmtree(SITE)
    for path, (data, _content_type) in sorted(site.files.items()):
        write(SITE / path, data)
    write(OUT / "demo.toml", demo_toml(sources, site).encode("utf-8"))
    write(OUT / "SOURCES.md", sources_md(sources).encode("utf-8"))
    total = sum(len(data) for data, _ in site.files.values())
    for source in sources:
        channel = source.channel
        print(f"{channel.slug:11} {len(channel.items):2} items  {channel.feed_url}")
    print(f"{len(site.files)} files under site/, {total:,} bytes")


if __name__ == "__main__":
    main()
