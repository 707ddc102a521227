"""The static site and its Atom feeds: pages, incremental rebuilds, image policies, and
hostile archived content that must come out inert."""

from __future__ import annotations

import json
import re
import struct
import zlib
from pathlib import Path

import feedparser
import pytest

from newsvault.archive import Archive
from newsvault.loopback import LoopbackServer, Route
from newsvault.models import Article
from newsvault.publish.images import mirror_images, proxied, sniff
from newsvault.publish.site import build_site
from newsvault.stories.process import process_pending

from .conftest import make_archive
from .test_cli import cli

T0 = 1718800000000
SEED_TEXT = (
    "俄罗斯总统普京周三抵达平壤，与朝鲜领导人金正恩举行会谈，并签署全面战略伙伴关系条约。"
    "条约规定，如果一方遭到武装侵略，另一方将提供军事援助。分析人士认为，这标志着两国关系"
    "进入新的阶段，也引起了韩国、日本和美国的关注。"
)
HOSTILE = (
    '<p onclick="steal()" style="position:fixed">正文<script>alert(1)</script></p>'
    '<a href="javascript:alert(2)">链接</a><img src="x" onerror="alert(3)">'
    '<iframe src="https://evil.example/"></iframe><svg><script>alert(4)</script></svg>'
    '<form action="https://evil.example/"><input name="q"></form><style>body{display:none}</style>'
    '<object data="https://evil.example/x.swf"></object><base href="https://evil.example/">'
    '<img src="https://img.example/a.jpg" srcset="https://evil.example/b.jpg 2x">'
    '<a href="data:text/html,<script>alert(5)</script>">数据</a>'
)
ACTIVE = re.compile(
    r"<script|onerror|onclick|javascript:|<iframe|<svg|<form|<object|<base|style=|srcset|data:text",
    re.I,
)


def png(width: int = 1) -> bytes:
    """A real (tiny) PNG file."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + b"\xff\x00\x00" * width)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def article(slug: str, n: int, title: str, html: str, hours: int = 0) -> Article:
    return Article(
        source=slug,
        key=f"{slug}-{n}",
        url=f"https://{slug}.example/{n}.html",
        title=title,
        html=html,
        text=re.sub(r"<[^>]+>", "", html),
        published=T0 + hours * 3_600_000,
        fetched=T0,
        author="記者 王小明" if n == 1 else None,
        images=[{"src": s, "caption": None} for s in re.findall(r'src="(http[^"]+)"', html)],
    )


def seeded(root: Path, images: dict[str, str] | None = None) -> Archive:
    archive = make_archive(root, [])
    config = root / "newsvault.toml"
    for slug, name in (("voa", "美国之音"), ("rfa", "自由亚洲"), ("pics", "图片社")):
        policy = (images or {}).get(slug, "keep")
        config.write_text(
            config.read_text()
            + f'\n[[sources]]\nslug = "{slug}"\nname = "{name}"\nurl = "https://{slug}.example/feed"\n'
            + f'images = "{policy}"\n'
        )
    archive = Archive(root)
    store = archive.store()
    voa = store.ensure_source("voa", "美国之音")
    rfa = store.ensure_source("rfa", "自由亚洲")
    figure = '<figure><img src="https://img.example/putin.jpg"><figcaption>普京与金正恩</figcaption></figure>'
    store.add_articles(
        voa, [article("voa", 1, "普京与金正恩签署条约", f"<p>{SEED_TEXT}</p>{figure}")], None
    )
    store.add_articles(
        rfa,
        [
            article("rfa", 1, "朝俄签署全面战略伙伴条约", f"<p>{SEED_TEXT}</p>", hours=2),
            article("rfa", 2, "恶意页面", HOSTILE, hours=30),
        ],
        None,
    )
    process_pending(store)
    store.close()
    return archive


def build(archive: Archive):
    store = archive.store()
    try:
        return build_site(store, archive.root, archive.settings, archive.sources())
    finally:
        store.close()


def test_site_pages_feeds_and_incremental_rebuilds(tmp_path: Path) -> None:
    archive = seeded(tmp_path / "news")
    first = build(archive)
    site = archive.root / "site"
    assert first.articles == 3 and first.written == first.pages
    for path in (
        "index.html",
        "style.css",
        "articles/voa/1048574.html",
        "sources/rfa/index.html",
        "days/2024-06-19.html",
        "days/index.html",
        "stories/index.html",
        "feeds/all.atom",
        "feeds/voa.atom",
    ):
        assert (site / path).is_file(), path
    page = (site / "articles/voa/1048574.html").read_text(encoding="utf-8")
    assert "普京与金正恩签署条约" in page and "<figcaption>普京与金正恩</figcaption>" in page
    assert "記者 王小明" in page and "2024-06-19 20:26" in page
    assert 'href="https://voa.example/1.html" rel="noopener noreferrer nofollow"' in page
    assert 'href="../../style.css"' in page and "Content-Security-Policy" in page
    story_pages = [p for p in (site / "stories").glob("*.html") if p.name != "index.html"]
    assert len(story_pages) == 1  # the two reports of the treaty are one story
    assert "朝俄签署全面战略伙伴条约" in story_pages[0].read_text(encoding="utf-8")

    again = build(archive)
    assert again.written == 0 and again.unchanged == again.pages

    store = archive.store()
    voa = store.ensure_source("voa", "美国之音")
    store.add_articles(voa, [article("voa", 3, "第二篇", f"<p>{'新的报道。' * 30}</p>", 50)], None)
    store.remove_article(3, T0)  # the hostile one
    store.close()
    third = build(archive)
    assert (site / "articles/voa/1048573.html").is_file()
    assert not (site / "articles/rfa/1048573.html").exists() and third.deleted >= 1
    assert third.written < 12  # the new page, its listings and feeds: not the whole site

    feed = feedparser.parse((site / "feeds/all.atom").read_bytes())
    assert not feed.bozo and feed.version == "atom10"
    titles = [e.title for e in feed.entries]
    assert titles[0] == "第二篇" and "恶意页面" not in titles
    entry = next(e for e in feed.entries if e.title == "普京与金正恩签署条约")
    assert "平壤" in entry.content[0].value and entry.author == "記者 王小明"


def test_hostile_content_is_inert_in_every_output(tmp_path: Path) -> None:
    archive = seeded(tmp_path / "news")
    build(archive)
    site = archive.root / "site"
    page = (site / "articles/rfa/1048573.html").read_text(encoding="utf-8")
    body = page.split('<div class="body">', 1)[1].split("</div>", 1)[0]
    assert "正文" in body and "链接" in body
    assert not ACTIVE.search(body), body
    for feed in ("feeds/all.atom", "feeds/rfa.atom"):
        parsed = feedparser.parse((site / feed).read_bytes(), sanitize_html=False)
        content = next(e for e in parsed.entries if e.title == "恶意页面").content[0].value
        assert "正文" in content and not ACTIVE.search(content), content


def test_image_policies_keep_proxy_and_mirror(tmp_path: Path, server: LoopbackServer) -> None:
    picture = png(3)
    server.set("/a.png", Route(picture, headers={"Content-Type": "image/png"}))
    server.set("/same.png", Route(picture, headers={"Content-Type": "image/png"}))
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    server.set("/evil.svg", Route(svg, headers={"Content-Type": "image/svg+xml"}))
    big = png() + bytes(range(256)) * 800  # 200 KB: over the limit below
    server.set("/big.png", Route(big, headers={"Content-Type": "image/png"}))
    archive = seeded(tmp_path / "news", images={"voa": "proxy", "pics": "mirror"})
    store = archive.store()
    pics = store.ensure_source("pics", "图片社")
    html = "".join(
        f'<p>图片 {n}</p><img src="{server.url(p)}">'
        for n, p in enumerate(("/a.png", "/same.png", "/evil.svg", "/big.png"))
    )
    store.add_articles(pics, [article("pics", 9, "图片", html, 40)], None)
    options = archive.settings.fetch_options()
    report = mirror_images(store, archive.root, ["pics"], options, max_bytes=100_000)
    assert (report.fetched, report.stored, report.refused, report.failed) == (3, 1, 1, 1)
    assert mirror_images(store, archive.root, ["pics"], options, 100_000).fetched == 0
    store.close()
    stored = list((archive.root / "media").rglob("*.png"))
    assert len(stored) == 1 and stored[0].read_bytes() == picture
    assert not list((archive.root / "media").rglob("*.svg"))
    build(archive)
    site = archive.root / "site"
    page = (site / "articles/pics/1048574.html").read_text(encoding="utf-8")
    name = stored[0].relative_to(archive.root).as_posix()
    assert page.count(f'src="../../{name}"') == 2 and (site / name).read_bytes() == picture
    assert f'src="{server.url("/evil.svg")}"' in page  # not mirrored: the original stays
    voa = (site / "articles/voa/1048574.html").read_text(encoding="utf-8")
    assert 'src="https://images.weserv.nl?url=https%3A%2F%2Fimg.example%2Fputin.jpg"' in voa


def test_proxy_template_and_sniffing() -> None:
    template = "https://images.weserv.nl?url=${href_ue}"
    assert proxied("https://a.example/x y.jpg", template).endswith(
        "https%3A%2F%2Fa.example%2Fx%20y.jpg"
    )
    already = "https://images.weserv.nl?url=gdb.voanews.com/1.jpg"
    assert proxied(already, template) == already
    assert proxied("https://a.example/1.jpg", "https://p.example/${href}") == (
        "https://p.example/https://a.example/1.jpg"
    )
    assert sniff(png()) == ("image/png", "png")
    assert sniff(b"<svg") is None and sniff(b"GIF89a....") == ("image/gif", "gif")


def test_publish_site_command_and_bad_language(tmp_path: Path) -> None:
    archive = seeded(tmp_path / "news")
    result = cli("-a", str(archive.root), "publish", "site")
    assert "written" in result.output and (archive.root / "site/index.html").is_file()
    manifest = json.loads((archive.root / "site/.manifest.json").read_text())
    assert "articles/voa/1048574.html" in manifest
    config = archive.root / "newsvault.toml"
    config.write_text(config.read_text().replace("[fetch]", '[site]\nlanguage = "fr"\n\n[fetch]'))
    bad = cli("-a", str(archive.root), "publish", "site", code=2)
    assert "site.language = 'fr'" in bad.stderr


@pytest.mark.parametrize("language", ["en", "zh"])
def test_interface_language(tmp_path: Path, language: str) -> None:
    archive = seeded(tmp_path / "news")
    config = archive.root / "newsvault.toml"
    config.write_text(
        config.read_text().replace("[fetch]", f'[site]\nlanguage = "{language}"\n\n[fetch]')
    )
    build(Archive(archive.root))
    home = (archive.root / "site/index.html").read_text(encoding="utf-8")
    assert ("Latest articles" in home) == (language == "en")
    assert ("最新文章" in home) == (language == "zh")


def test_run_mirrors_images_of_mirror_sources(tmp_path: Path, server: LoopbackServer) -> None:
    from .feedgen import rss

    server.set("/pics.xml", Route(rss("pics", 2, base=server.base_url)))
    for n in range(2):
        server.set(f"/img/{n}.jpg", Route(png(2), headers={"Content-Type": "image/jpeg"}))
    root = tmp_path / "news"
    make_archive(root, [("pics", "图片社", server.url("/pics.xml"))])
    config = root / "newsvault.toml"
    config.write_text(config.read_text() + 'images = "mirror"\n')
    result = cli("-a", str(root), "run")
    assert "images: 1 new in media/, 0 refused (not a raster image), 0 failed" in result.output
    assert len(list((root / "media").rglob("*.png"))) == 1
    assert "images:" not in cli("-a", str(root), "run").output  # nothing left to mirror
    cli("-a", str(root), "publish", "site")
    page = (root / "site/articles/pics/1048574.html").read_text(encoding="utf-8")
    assert (
        'src="../../media/' in page
        and server.base_url not in page.split('<div class="body">')[1].split("</div>")[0]
    )


DOMXSS = json.loads(
    (Path(__file__).parent / "data" / "domxss" / "payloads.json").read_text(encoding="utf-8")
)
_SAFE_TAGS = {
    "a", "abbr", "b", "bdi", "bdo", "blockquote", "br", "caption", "cite", "code", "col",
    "colgroup", "data", "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption",
    "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hgroup", "hr", "i", "img", "ins", "kbd",
    "li", "mark", "ol", "p", "picture", "pre", "q", "rp", "rt", "rtc", "ruby", "s", "samp",
    "small", "source", "span", "strike", "strong", "sub", "summary", "sup", "table", "tbody",
    "td", "th", "thead", "time", "tfoot", "tr", "tt", "u", "ul", "var", "wbr", "center",
    "font", "big", "acronym", "article", "aside", "footer", "header", "nav", "section", "main",
}  # fmt: skip


@pytest.mark.parametrize("case", DOMXSS, ids=[f"domxss-{n}" for n in range(len(DOMXSS))])
def test_domxss_payloads_come_out_inert(case: dict) -> None:
    import lxml.html

    from newsvault.publish.reader import reader_html

    cleaned = reader_html(case["payload"])
    if not cleaned.strip():
        return
    root = lxml.html.fragment_fromstring(cleaned, create_parent="div")
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        assert element.tag in _SAFE_TAGS | {"div"}, (element.tag, cleaned)
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on") and name.lower() != "style", cleaned
            if name in ("href", "src", "cite", "action", "formaction", "xlink:href"):
                assert value.startswith(("http://", "https://", "mailto:")), cleaned


def test_older_source_pages_stay_untouched_as_articles_arrive(tmp_path: Path) -> None:
    archive = make_archive(tmp_path / "news", [])
    store = archive.store()
    source = store.ensure_source("big", "大报")
    many = [article("big", n, f"第{n}篇报道", f"<p>{SEED_TEXT}{n}</p>", n) for n in range(250)]
    store.add_articles(source, many, None)
    store.close()
    build(archive)
    pages = archive.root / "site/sources/big"
    assert sorted(p.name for p in pages.glob("*.html")) == [
        "1.html",
        "2.html",
        "3.html",
        "index.html",
    ]
    before = {p.name: p.stat().st_mtime_ns for p in pages.glob("*.html")}
    store = archive.store()
    store.add_articles(source, [article("big", 999, "新一篇", f"<p>{SEED_TEXT}</p>", 999)], None)
    store.close()
    build(archive)
    after = {p.name: p.stat().st_mtime_ns for p in pages.glob("*.html")}
    assert after["1.html"] == before["1.html"] and after["2.html"] == before["2.html"]
    assert after["3.html"] != before["3.html"] and after["index.html"] != before["index.html"]
