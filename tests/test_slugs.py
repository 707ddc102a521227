"""Reserved slugs: the names the site and the markdown archive use for themselves in folders
keyed by a source's slug (site/feeds/all.atom beside site/feeds/<slug>.atom, ...) are refused
wherever a source gets its slug."""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest

from newsvault.archive import Archive
from newsvault.models import Source
from newsvault.opml import to_opml
from newsvault.pages import host_slug

from .conftest import make_archive
from .test_cli import cli
from .test_site import article, build, seeded
from .test_web import TOKEN, call, configure, serving

RESERVED = ["all", "deleted", "edited", "index"]


@pytest.mark.parametrize("slug", RESERVED)
def test_sources_add_refuses_a_reserved_slug(tmp_path: Path, slug: str) -> None:
    root = tmp_path / "news"
    make_archive(root, [])
    refused = cli(
        "-a", str(root), "sources", "add", "https://feeds.example.org/x.xml",
        "--name", "X", "--slug", slug, code=2,
    )  # fmt: skip
    assert refused.stderr.count("\n") == 1
    assert f"slug {slug!r}" in refused.stderr
    assert "the site uses that name for itself" in refused.stderr
    assert "choose another" in refused.stderr
    assert Archive(root).sources() == []


def test_slugs_made_from_a_host_are_never_reserved(tmp_path: Path) -> None:
    root = tmp_path / "news"
    make_archive(root, [])
    a = ("-a", str(root))
    cli(*a, "sources", "add", "https://all.example.org/feed", "--name", "All", "--no-check")
    cli(*a, "sources", "add", "https://www.index.hu/24ora/rss", "--name", "Index", "--no-check")
    assert [s.slug for s in Archive(root).sources()] == ["all-2", "index-2"]
    assert host_slug("https://index.hu/belfold/2024/06/20/cikk/") == "index-hu"
    assert host_slug("https://www.edited.com/news/1.html") == "edited-com"
    assert host_slug("http://all:8080/") == "all-page"


def test_opml_import_with_a_reserved_slug_adds_nothing(tmp_path: Path) -> None:
    root = tmp_path / "news"
    make_archive(root, [])
    opml = tmp_path / "feeds.opml"
    opml.write_text(
        to_opml(
            [
                Source(slug="fine", name="Fine", url="https://a.example.org/feed"),
                Source(slug="all", name="Everything", url="https://b.example.org/feed"),
            ]
        ),
        encoding="utf-8",
    )
    refused = cli("-a", str(root), "sources", "import", str(opml), code=2)
    assert refused.stderr.count("\n") == 1
    assert str(opml) in refused.stderr and "newsvaultSlug 'all'" in refused.stderr
    assert "the site uses that name for itself" in refused.stderr
    assert Archive(root).sources() == []  # not even the good one: fix the file, import again


def test_a_reserved_slug_in_newsvault_toml_is_one_line(tmp_path: Path) -> None:
    root = tmp_path / "news"
    make_archive(
        root, [("voa", "VOA", "https://voa.example/feed"), ("all", "All", "https://x.example/f")]
    )
    for command in (["sources", "list"], ["run"], ["publish", "site"]):
        refused = cli("-a", str(root), *command, code=2)
        assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.output
        assert "newsvault.toml: source #2 has slug 'all'" in refused.stderr
        assert "the site uses that name for itself" in refused.stderr


def test_the_api_refuses_a_reserved_slug(tmp_path: Path) -> None:
    root = tmp_path / "news"
    make_archive(root, [])
    configure(root, f'[serve]\nadmin_token = "{TOKEN}"\n')
    source = {"slug": "all", "name": "All", "url": "https://a.example.org/feed"}
    with serving(root) as base:
        status, body, _ = call("POST", f"{base}/api/sources", source, token=TOKEN)
    assert status == 400 and "slug 'all'" in body["detail"]
    assert "the site uses that name for itself" in body["detail"]
    assert Archive(root).sources() == []


def test_the_site_wide_feed_is_never_a_sources_feed(tmp_path: Path) -> None:
    archive = seeded(tmp_path / "news")
    store = archive.store()
    try:  # only an imported markdown archive can bring a source named so into the database
        imported = store.ensure_source("all", "冒名的总源")
        store.add_articles(imported, [article("all", 1, "导入的文章", "<p>导入。</p>")], None)
    finally:
        store.close()
    build(archive)
    site = archive.root / "site"
    feed = feedparser.parse((site / "feeds/all.atom").read_bytes())
    assert feed.feed.title == archive.settings["site.title"]
    titles = {entry.title for entry in feed.entries}
    assert {"普京与金正恩签署条约", "朝俄签署全面战略伙伴条约", "导入的文章"} <= titles
    assert (site / "sources/all/index.html").is_file()
    assert (site / "feeds/voa.atom").is_file() and (site / "feeds/rfa.atom").is_file()
