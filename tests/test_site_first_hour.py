"""The site as a new reader meets it (issue 11): when an article was archived, the way to
older articles, days and stories linked to their neighbours, stories told by several outlets
(not one outlet twice) with who reported first and which reports are copies, copies folded
in the lists, Atom entries that link the archived copy, images with alt text, the favicon,
sources ordered by pinyin and shown before any article, times labelled by each outlet's
zone, and the Traditional Chinese interface."""

from __future__ import annotations

import json
import re
import struct
import urllib.request
from pathlib import Path

import feedparser
import lxml.html
import pytest
from typer.testing import CliRunner

from newsvault.archive import Archive
from newsvault.cli import app
from newsvault.errors import ArchiveError
from newsvault.loopback import LoopbackServer, Route
from newsvault.publish.reader import reader_html
from newsvault.publish.site import folded, name_key
from newsvault.stories.process import process_pending

from .conftest import make_archive
from .test_site import SEED_TEXT, article, build, seeded

runner = CliRunner()

OTHER_TEXT = (
    "台风“格美”周四凌晨在台湾宜兰登陆，带来强风豪雨，多地停班停课。气象部门表示，台风中心"
    "将穿过台湾北部进入台湾海峡，预计周五在福建沿海再次登陆，沿海地区需防范风暴潮。"
)

THIRD_TEXT = (
    "欧洲议会选举结果周一揭晓，中间偏右的欧洲人民党保持第一大党地位，极右翼政党在法国和德国"
    "得票明显上升。法国总统马克龙随即宣布解散国民议会，提前举行立法选举，震动欧洲政坛。"
)


def read(archive: Archive, path: str) -> str:
    return (archive.root / "site" / path).read_text(encoding="utf-8")


def configure(archive: Archive, slug: str, line: str) -> Archive:
    """`line` added to the [[sources]] table of `slug` in newsvault.toml."""
    config = archive.root / "newsvault.toml"
    text = config.read_text(encoding="utf-8")
    anchor = f'url = "https://{slug}.example/feed"\n'
    config.write_text(text.replace(anchor, anchor + line + "\n"), encoding="utf-8")
    return Archive(archive.root)


def setting(archive: Archive, table: str) -> Archive:
    config = archive.root / "newsvault.toml"
    config.write_text(config.read_text(encoding="utf-8") + "\n" + table + "\n", encoding="utf-8")
    return Archive(archive.root)


def add(archive: Archive, slug: str, name: str, found: list) -> None:
    store = archive.store()
    store.add_articles(store.ensure_source(slug, name), found, None)
    process_pending(store)
    store.close()


def stories_on(html: str) -> list[str]:
    return re.findall(r'href="(?:\.\./)?stories/(\d+)\.html"', html)


def test_an_article_page_says_when_it_was_archived(tmp_path: Path) -> None:
    archive = seeded(tmp_path / "news")
    build(archive)
    page = read(archive, "articles/voa/1048574.html")
    meta = page.split('<p class="meta">', 1)[1].split("</p>", 1)[0]
    assert "存档于" in meta and '<time datetime="2024-06-19T20:26:40+08:00">' in meta
    english = setting(archive, '[site]\nlanguage = "en"')
    build(english)
    assert "archived <time" in read(english, "articles/voa/1048574.html")


def test_the_home_page_has_a_heading_and_leads_to_older_articles(tmp_path: Path) -> None:
    archive = seeded(tmp_path / "news")
    build(archive)
    home = read(archive, "index.html")
    assert home.count("<h1") == 1 and '<h1 class="brand-heading">' in home
    assert '<a href="days/index.html">更早的文章：按日期浏览 →</a>' in home
    assert '<link rel="icon" href="favicon.svg"' in home


def test_days_link_their_neighbours_and_the_index_is_grouped_by_month(tmp_path: Path) -> None:
    archive = seeded(tmp_path / "news")  # 2024-06-19 and (the hostile one) 06-21
    add(
        archive,
        "voa",
        "美国之音",
        [article("voa", 5, "七月的消息", f"<p>{OTHER_TEXT}</p>", 24 * 20)],
    )
    build(archive)
    middle = read(archive, "days/2024-06-21.html")
    nav = middle.split('<nav class="pages">', 1)[1].split("</nav>", 1)[0]
    assert '<a href="2024-06-19.html">← 2024-06-19</a>' in nav
    assert '<a href="index.html">全部日期</a>' in nav
    assert '<a href="2024-07-09.html">2024-07-09 →</a>' in nav
    first = read(archive, "days/2024-06-19.html")
    assert "← " not in first and "2024-06-21.html" in first
    index = read(archive, "days/index.html")
    assert re.findall(r"<h2>([^<]+)</h2>", index) == ["2024年7月", "2024年6月"]
    june = index.split("<h2>2024年6月</h2>", 1)[1]
    assert june.index("2024-06-21.html") < june.index("2024-06-19.html")


def test_stories_are_told_by_several_outlets_first_report_and_copies(tmp_path: Path) -> None:
    archive = seeded(tmp_path / "news")  # the treaty: voa, then rfa (a copy of voa's text)
    # one outlet telling one news twice (a copy of its own report) is not "several outlets"
    twice = [article("bb", n, f"台风登陆 {n}", f"<p>{OTHER_TEXT}</p>", 50 + n) for n in (1, 2)]
    add(archive, "bb", "禁闻网", twice)
    # a third story, after the treaty's by id, so that the treaty has a next story
    later = f"<p>{THIRD_TEXT}</p>"
    add(archive, "voa", "美国之音", [article("voa", 6, "欧洲议会选举结果揭晓", later, 80)])
    add(archive, "rfa", "自由亚洲", [article("rfa", 6, "欧洲议会选举：右翼得票上升", later, 81)])
    build(archive)
    home = read(archive, "index.html")
    listed = stories_on(home)
    assert len(listed) == 2  # the treaty and the rain, not bannedbook's story
    assert "2 家媒体 · 2 篇" in home
    store = archive.store()
    own = store.article_by_number("bb", 1048574)
    treaty = store.article_by_number("voa", 1048574)
    reprint = store.article_by_number("rfa", 1048574)
    store.close()
    assert own and treaty and reprint and reprint.copy_of == treaty.id
    assert not (archive.root / f"site/stories/{own.story_id}.html").exists()
    assert str(own.story_id) not in stories_on(read(archive, "stories/index.html"))
    page = read(archive, f"stories/{treaty.story_id}.html")
    first = page.split('<p class="first">', 1)[1].split("</p>", 1)[0]
    assert "最先报道" in first and "美国之音" in first and "2024-06-19 20:26" in first
    reports = page.split('<ol class="articles told">', 1)[1].split("</ol>", 1)[0]
    voa, rfa = reports.split("<li>")[1:]
    assert '<span class="tag first">最先报道</span>' in voa and "副本" not in voa
    assert "2024-06-19 22:26 (北京时间)" in rfa and '<span class="tag copy">副本</span>' in rfa
    assert '原文：<a href="../articles/voa/1048574.html">美国之音</a>' in rfa
    nav = page.split('<nav class="pages">', 1)[1].split("</nav>", 1)[0]
    assert "上一个新闻事件" not in nav and 'rel="next"' in nav  # the first story told
    assert '<a href="index.html">全部新闻事件</a>' in nav
    following = re.search(r'rel="next" href="(\d+)\.html"', nav)
    assert following
    after = read(archive, f"stories/{following[1]}.html")
    assert f'<a rel="prev" href="{treaty.story_id}.html">' in after


def test_copies_are_folded_in_the_site_lists_not_in_the_markdown(tmp_path: Path) -> None:
    archive = seeded(tmp_path / "news")
    copies = [
        article("voa", n, f"普京访问平壤（转载 {n}）", f"<p>{SEED_TEXT}</p>", 3 + n)
        for n in (2, 3, 4)
    ]
    add(archive, "voa", "美国之音", copies)
    build(archive)
    listing = lxml.html.fromstring(read(archive, "sources/voa/index.html"))
    (top,) = listing.cssselect("ul.articles > li")  # the original once, its copies under it
    assert top.cssselect("li > a")[0].get("href") == "../../articles/voa/1048574.html"
    assert top.cssselect("details.copies > summary")[0].text == "另有 3 份副本"
    copied = [a.get("href") for a in top.cssselect("details.copies li a")]
    assert copied == [f"../../articles/voa/{n}.html" for n in (1048571, 1048572, 1048573)]
    store = archive.store()
    from newsvault.publish.markdown import publish_markdown

    publish_markdown(store, archive.root)
    store.close()
    markdown = (archive.root / "lists/voa.md").read_text(encoding="utf-8")
    assert all(f"articles/voa/{n}.md" in markdown for n in (1048574, 1048573, 1048572))


def test_folding_keeps_order_and_groups_copies_of_an_absent_original() -> None:
    class Item:
        def __init__(self, id: int, copy_of: int | None = None) -> None:
            self.id, self.copy_of = id, copy_of

    a, b, c, d, e = Item(9, 1), Item(8), Item(7, 1), Item(6, 8), Item(5)
    shown = [(lead.id, [x.id for x in rest]) for lead, rest in folded([a, b, c, d, e])]
    assert shown == [(8, [6]), (7, [9]), (5, [])]  # 1 is not listed: under its oldest copy


def test_atom_entries_link_the_archived_copy(tmp_path: Path) -> None:
    archive = seeded(tmp_path / "news")
    build(archive)
    raw = (archive.root / "site/feeds/all.atom").read_bytes()
    served = "https://mirror.example/news/feeds/all.atom"
    headers = {"content-location": served, "content-type": "application/atom+xml"}
    feed = feedparser.parse(raw, response_headers=headers)
    assert not feed.bozo
    entry = next(e for e in feed.entries if e.title == "普京与金正恩签署条约")
    links = {link.rel: link.href for link in entry.links}
    assert links["alternate"] == "https://mirror.example/news/articles/voa/1048574.html"
    assert links["related"] == "https://voa.example/1.html"
    assert entry.id == "https://voa.example/1.html"  # ids stay what readers already hold
    feed_links = {link.rel: link.href for link in feed.feed.links}
    assert feed_links["self"] == served
    assert feed_links["alternate"] == "https://mirror.example/news/index.html"
    based = setting(archive, '[site]\nbase_url = "https://example.org/site/"')
    build(based)
    feed = feedparser.parse((based.root / "site/feeds/voa.atom").read_bytes())
    assert {link.rel: link.href for link in feed.feed.links}["self"] == (
        "https://example.org/site/feeds/voa.atom"
    )
    assert feed.entries[0].link == "https://example.org/site/articles/voa/1048574.html"


def test_images_get_an_alt_text() -> None:
    html = (
        '<figure><img src="https://a.example/1.jpg"><figcaption>普京与 <b>金正恩</b> "会谈"'
        "</figcaption></figure>"
        '<p><img src="https://a.example/2.jpg"><img src="https://a.example/3.jpg" alt="图"></p>'
    )
    out = reader_html(html)
    assert '<img alt="普京与 金正恩 &quot;会谈&quot;" src="https://a.example/1.jpg">' in out
    assert '<img alt="" src="https://a.example/2.jpg">' in out
    assert '<img src="https://a.example/3.jpg" alt="图">' in out


def test_the_site_and_the_app_have_a_favicon(tmp_path: Path) -> None:
    archive = seeded(tmp_path / "news")
    build(archive)
    icon = (archive.root / "site/favicon.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", icon[:6])
    assert (reserved, kind, count) == (0, 1, 1) and icon[22:30] == b"\x89PNG\r\n\x1a\n"
    assert read(archive, "favicon.svg").startswith("<svg ")
    from .test_web_hostile import serving  # (it imports test_web, which imports this)

    with serving(archive.root) as (base, _):
        for name, kind in (("favicon.ico", "image/"), ("favicon.svg", "image/svg+xml")):
            with urllib.request.urlopen(f"{base}/{name}", timeout=20) as response:
                assert response.status == 200 and response.headers["Content-Type"].startswith(kind)


def test_sources_are_ordered_by_pinyin_and_shown_before_any_article(tmp_path: Path) -> None:
    names = ["自由亚洲", "中国数字时代", "BBC中文", "美国之音", "重庆日报"]
    expected = ["BBC中文", "重庆日报", "美国之音", "中国数字时代", "自由亚洲"]
    assert sorted(names, key=name_key) == expected
    root = tmp_path / "news"
    follows = [("rfa", "自由亚洲", "https://rfa.example/feed"),
               ("cdt", "中国数字时代", "https://cdt.example/feed"),
               ("voa", "美国之音", "https://voa.example/feed")]  # fmt: skip
    archive = make_archive(root, follows)
    build(archive)
    home = read(archive, "index.html")
    names = re.findall(
        r'<span class="outlet-name">([^<]+)</span> <span class="outlet">还没有文章', home
    )
    assert names == ["美国之音", "中国数字时代", "自由亚洲"]
    assert "还没有存档的文章。" in home
    add(archive, "voa", "美国之音", [article("voa", 1, "第一篇", f"<p>{SEED_TEXT}</p>")])
    build(archive)
    home = read(archive, "index.html")
    assert '<a class="outlet-name" href="sources/voa/index.html">美国之音</a>' in home
    assert re.findall(r'class="outlet-name"[^>]*>([^<]+)<', home) == [
        "美国之音", "中国数字时代", "自由亚洲",
    ]  # fmt: skip
    from .test_web_hostile import serving  # (it imports test_web, which imports this)

    with serving(archive.root) as (base, _):  # the app's home page, the same order
        app_home = urllib.request.urlopen(f"{base}/", timeout=20).read().decode()
    assert re.findall(r'class="outlet-name"[^>]*>([^<]+)<', app_home) == [
        "美国之音", "中国数字时代", "自由亚洲",
    ]  # fmt: skip


def test_times_are_labelled_by_the_zone_each_outlet_uses(tmp_path: Path) -> None:
    archive = seeded(tmp_path / "news")
    archive = configure(archive, "rfa", 'timezone = "Asia/Taipei"')
    archive = configure(archive, "voa", 'timezone = "America/New_York"')
    assert {s.slug: s.timezone for s in archive.sources()}["rfa"] == "Asia/Taipei"
    build(archive)
    rfa = read(archive, "articles/rfa/1048574.html")
    assert '2024-06-19 22:26</time> <span class="zone">(台北时间)</span>' in rfa
    assert "北京时间" not in rfa
    voa = read(archive, "articles/voa/1048574.html")
    assert '2024-06-19T08:26:40-04:00">2024-06-19 08:26</time> <span class="zone">(纽约时间)' in voa
    story = read(archive, "stories/" + stories_on(read(archive, "index.html"))[0] + ".html")
    assert "(台北时间)" in story and "(纽约时间)" in story
    # a source without a zone keeps UTC+8 and its name
    plain = seeded(tmp_path / "plain")
    build(plain)
    assert "(北京时间)" in read(plain, "articles/rfa/1048574.html")
    bad = configure(seeded(tmp_path / "bad"), "voa", 'timezone = "Asia/Nowhere"')
    with pytest.raises(ArchiveError, match="timezone = 'Asia/Nowhere'"):
        bad.sources()


def test_the_traditional_chinese_interface(tmp_path: Path) -> None:
    archive = setting(seeded(tmp_path / "news"), '[site]\nlanguage = "zh-Hant"')
    archive = configure(archive, "rfa", 'timezone = "Asia/Taipei"')
    build(archive)
    home = read(archive, "index.html")
    assert '<html lang="zh-Hant">' in home
    assert "<h2>多家媒體報導的新聞</h2>" in home and "<h2>來源</h2>" in home
    assert "最新文章" in home and "来源" not in home
    page = read(archive, "articles/rfa/1048574.html")
    assert "(台北時間)" in page and "存檔於" in page
    assert "(北京時間)" in read(archive, "articles/voa/1048574.html")
    feed = feedparser.parse((archive.root / "site/feeds/all.atom").read_bytes())
    assert feed.feed.language == "zh-Hant"


def test_feed_images_the_text_does_not_show_reach_the_article_page(
    tmp_path: Path, server: LoopbackServer
) -> None:
    long_text = "<p>" + "长江洪水继续上涨，沿岸城市启动应急响应。" * 20 + "</p>"
    rss_feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>R</title>'
        "<link>https://r.example/</link><item><title>洪水</title><link>https://r.example/1</link>"
        f"<description><![CDATA[{long_text}]]></description>"
        f'<enclosure url="{server.base_url}/flood.jpg" type="image/jpeg" length="1"/>'
        "</item></channel></rss>"
    ).encode()
    json_feed = json.dumps({
        "version": "https://jsonfeed.org/version/1.1", "title": "J",
        "items": [{"id": "j1", "url": "https://j.example/1", "title": "洪水二",
                   "content_html": long_text, "image": f"{server.base_url}/river.png"}],
    }).encode()  # fmt: skip
    server.set("/rss.xml", Route(rss_feed, headers={"Content-Type": "application/rss+xml"}))
    server.set("/feed.json", Route(json_feed, headers={"Content-Type": "application/feed+json"}))
    root = tmp_path / "news"
    make_archive(root, [("r", "R", server.url("/rss.xml")), ("j", "J", server.url("/feed.json"))])
    assert runner.invoke(app, ["-a", str(root), "run"]).exit_code == 0
    assert runner.invoke(app, ["-a", str(root), "publish", "site"]).exit_code == 0
    pages = {
        slug: next((root / "site/articles" / slug).glob("*.html")).read_text(encoding="utf-8")
        for slug in ("r", "j")
    }
    assert 'flood.jpg" alt=""' in pages["r"] and 'river.png" alt=""' in pages["j"]
