"""The identity of a link (share and tracking parameters never make an article twice, and are
not kept in what is stored and published) and the language tag an article is given."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from newsvault.archive import Archive
from newsvault.cli import app
from newsvault.loopback import LoopbackServer, Route
from newsvault.models import Article
from newsvault.normalize import canonical_url, language_tag

from .conftest import make_archive

runner = CliRunner()
WECHAT = "https://mp.weixin.qq.com/s?__biz=MzA5&mid=2651&idx=1&sn=4f3a"


def test_wechat_share_parameters_are_not_part_of_an_article() -> None:
    shared = (
        f"{WECHAT}&chksm=8b5e&scene=21&from=timeline&isappinstalled=0"
        "&sharer_sharetime=1718&sharer_shareid=ab12&clicktime=1718&enterid=1718#rd"
    )
    assert canonical_url(shared) == WECHAT
    assert (
        canonical_url("https://mp.weixin.qq.com/s/AbC-dEf_12")
        == "https://mp.weixin.qq.com/s/AbC-dEf_12"
    )
    assert canonical_url("https://news.example/a?id=7&utm_source=x&fbclid=y&scene=2") == (
        "https://news.example/a?id=7"
    )
    assert canonical_url("https://news.example/a?page=2&lang=en") == (
        "https://news.example/a?page=2&lang=en"  # elsewhere, parameters may name the page
    )


def feed(links: list[str]) -> bytes:
    items = "".join(
        f"<item><title>条约 {n}</title><link>{link.replace('&', '&amp;')}</link>"
        f"<description>{'双方签署全面战略伙伴关系条约。' * 30}</description></item>"
        for n, link in enumerate(links)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>W</title>'
        f"<link>https://mp.weixin.qq.com/</link>{items}</channel></rss>"
    ).encode()


def test_the_same_article_shared_twice_is_archived_once_under_its_clean_url(
    tmp_path: Path, server: LoopbackServer
) -> None:
    first = f"{WECHAT}&scene=21&chksm=1"
    server.set("/feed.xml", Route(feed([first]), headers={"Content-Type": "application/rss+xml"}))
    root = tmp_path / "news"
    make_archive(root, [("wx", "WX", server.url("/feed.xml"))])
    with (root / "newsvault.toml").open("a") as config:
        config.write('fetch_full = "never"\n')
    assert runner.invoke(app, ["-a", str(root), "run"]).exit_code == 0
    again = f"{WECHAT}&from=timeline&isappinstalled=0&sharer_shareid=9"
    server.set("/feed.xml", Route(feed([again]), headers={"Content-Type": "application/rss+xml"}))
    assert runner.invoke(app, ["-a", str(root), "run"]).exit_code == 0
    store = Archive(root).store()
    stored = list(store.articles())
    store.close()
    assert [a.url for a in stored] == [WECHAT]
    written = next((root / "articles" / "wx").iterdir()).read_text(encoding="utf-8")
    assert f"]({WECHAT})" in written and "scene" not in written


def test_an_archive_with_links_stored_before_cleaning_takes_no_duplicate(
    tmp_path: Path, server: LoopbackServer
) -> None:
    raw = f"{WECHAT}&scene=21&chksm=1"
    root = tmp_path / "news"
    archive = make_archive(root, [("wx", "WX", server.url("/feed.xml"))])
    store = archive.store()
    source = store.ensure_source("wx", "WX")  # as an older version stored it: the raw link
    old = Article(source="wx", url=raw, title="条约 0", html="<p>x</p>", text="x", published=1,
                  fetched=1, key=raw)  # fmt: skip
    store.add_articles(source, [old], None)
    store.close()
    server.set("/feed.xml", Route(feed([raw]), headers={"Content-Type": "application/rss+xml"}))
    with (root / "newsvault.toml").open("a") as config:
        config.write('fetch_full = "never"\n')
    assert runner.invoke(app, ["-a", str(root), "run"]).exit_code == 0
    store = Archive(root).store()
    assert len(list(store.articles())) == 1
    store.close()


def test_languages_are_bcp_47_tags_with_the_script_of_chinese() -> None:
    simplified, traditional = "普京周三抵达平壤与朝鲜领导人会谈", "普京週三抵達平壤與朝鮮領導人會談"
    assert language_tag("zh-cn", simplified) == "zh-Hans"
    assert language_tag("zh_TW", traditional) == "zh-Hant"
    assert language_tag("zh", traditional) == "zh-Hant"  # the characters tell
    assert language_tag(None, simplified) == "zh-Hans"
    assert language_tag("en", simplified) == "zh-Hans"  # a template's default, not the text's
    assert language_tag("en-us", "Putin arrived in Pyongyang on Wednesday") == "en-US"
    assert language_tag("ja", "東京で首脳会談が行われました") == "ja"
    assert language_tag(None, "x") is None
