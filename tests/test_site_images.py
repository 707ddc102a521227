"""Images mirrored as part of archiving (the default), and every published copy pointing at
the copy: the markdown archive, the site, the Atom feeds and git mirrors; the proxy and keep
policies; images that fail or are too large keep their original URL; a published archive
imported again gives back its bytes."""

from __future__ import annotations

import hashlib
import re
import shutil
import struct
import time
from pathlib import Path

import feedparser
import pytest

from newsvault.archive import Archive
from newsvault.logs import EventLog
from newsvault.loopback import LoopbackServer, Route
from newsvault.models import Article
from newsvault.publish import images as image_module
from newsvault.publish.images import ImageLinks, media_name
from newsvault.publish.markdown import point_images, publish_markdown
from newsvault.watch.daemon import SERVE_KINDS, BackgroundWatcher, Watcher

from .conftest import make_archive
from .test_cli import cli
from .test_publish_git import git, no_git_config  # noqa: F401 (no identity from the machine)
from .test_site import png

TEXT = "俄罗斯总统普京周三抵达平壤，与朝鲜领导人金正恩举行会谈，并签署全面战略伙伴关系条约。" * 8
PNG = {"Content-Type": "image/png"}
JPEG = {"Content-Type": "image/jpeg"}


def jpeg(note: str = "newsvault") -> bytes:
    """A real baseline JPEG: one 8x8 grey block (DC and AC tables of one code each), with a
    comment so that each note gives other bytes."""

    def segment(marker: int, body: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body

    one_code = bytes([1] + [0] * 15) + b"\x00"  # one symbol (0) with the code "0"
    return b"".join(
        [
            b"\xff\xd8",
            segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            segment(0xFE, note.encode()),
            segment(0xDB, b"\x00" + bytes([1] * 64)),
            segment(0xC0, struct.pack(">BHHB", 8, 8, 8, 1) + b"\x01\x11\x00"),
            segment(0xC4, b"\x00" + one_code),
            segment(0xC4, b"\x10" + one_code),
            segment(0xDA, b"\x01\x01\x00\x00\x3f\x00"),
            b"\x3f",  # DC difference 0 ("0"), end of block ("0"), padded with ones
            b"\xff\xd9",
        ]
    )


def feed(base: str, items: dict[str, list[str]]) -> bytes:
    """An RSS feed with the full text of each item (no page is fetched) and its images."""
    entries = []
    for n, (slug, images) in enumerate(items.items()):
        pictures = "".join(f'<p><img src="{src}" alt="图{i}"></p>' for i, src in enumerate(images))
        entries.append(
            f"<item><title>{slug} 报道</title><link>{base}/a/{slug}.html</link>"
            f"<guid>{slug}</guid><pubDate>Wed, 19 Jun 2024 1{n}:00:00 GMT</pubDate>"
            f"<content:encoded><![CDATA[<p>{TEXT}</p>{pictures}]]></content:encoded></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>N</title>'
        f"<link>{base}/</link>{''.join(entries)}</channel></rss>"
    ).encode()


def newsroom(server: LoopbackServer) -> dict[str, bytes]:
    """A feed of two items: one with a PNG and a JPEG, one with the same PNG, a picture gone
    (404), one too large to mirror and an SVG. The pictures served, by path."""
    pictures = {"/img/a.png": png(3), "/img/b.jpg": jpeg()}
    for path, body in pictures.items():
        server.set(path, Route(body, headers=PNG if path.endswith(".png") else JPEG))
    server.set("/img/gone.png", Route(b"gone", status=404))
    server.set("/img/huge.png", Route(png() + bytes(range(256)) * 100, headers=PNG))
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    server.set("/img/x.svg", Route(svg, headers={"Content-Type": "image/svg+xml"}))
    url = server.url
    items = {
        "first": [url("/img/a.png"), url("/img/b.jpg")],
        "second": [
            url("/img/a.png"),
            url("/img/gone.png"),
            url("/img/huge.png"),
            url("/img/x.svg"),
        ],
    }
    server.set(
        "/feed.xml",
        Route(feed(server.base_url, items), headers={"Content-Type": "application/rss+xml"}),
    )
    return pictures


def archive_of(root: Path, server: LoopbackServer, extra: str = "") -> Path:
    """An archive following the newsroom's feed with the default image policy (none given),
    images up to 20,000 bytes."""
    make_archive(root, [("news", "N", server.url("/feed.xml"))])
    with (root / "newsvault.toml").open("a", encoding="utf-8") as config:
        config.write(extra + "\n[publish]\nmedia_max_bytes = 20000\n")
    return root


def copy_of(body: bytes, ext: str) -> str:
    digest = hashlib.sha256(body).hexdigest()
    return f"media/{digest[:2]}/{digest}.{ext}"


def srcs(html: str) -> list[str]:
    return re.findall(r'<img[^>]*?\ssrc="([^"]*)"', html)


def test_run_mirrors_by_default_and_every_copy_points_there(
    tmp_path: Path, server: LoopbackServer
) -> None:
    pictures = newsroom(server)
    root = archive_of(tmp_path / "news", server)
    assert Archive(root).sources()[0].images == "mirror"
    result = cli("-a", str(root), "run")
    assert "images: 2 new in media/, 1 refused (not a raster image), 2 failed" in result.output
    a, b = copy_of(pictures["/img/a.png"], "png"), copy_of(pictures["/img/b.jpg"], "jpg")
    assert (root / a).read_bytes() == pictures["/img/a.png"]
    assert (root / b).read_bytes() == pictures["/img/b.jpg"]
    assert server.hits("/img/a.png") == 1  # one picture in two articles: fetched once

    # the markdown: the copies as absolute paths, the rest as they were
    first = (root / "articles/news/1048574.md").read_text(encoding="utf-8")
    second = (root / "articles/news/1048573.md").read_text(encoding="utf-8")
    assert srcs(first) == [f"/{a}", f"/{b}"]
    assert srcs(second) == [f"/{a}"] + [
        server.url(f"/img/{n}") for n in ("gone.png", "huge.png", "x.svg")
    ]
    assert '<img src="/' + a + '" alt="图0">' in first  # nothing else of the tag changed
    shown = cli("-a", str(root), "show", "news/1048574", "--format", "md").stdout
    assert shown == first

    # the site and its feeds (relative to the feed without site.base_url)
    cli("-a", str(root), "publish", "site")
    page = (root / "site/articles/news/1048574.html").read_text(encoding="utf-8")
    assert srcs(page) == [f"../../{a}", f"../../{b}"]
    assert (root / "site" / a).read_bytes() == pictures["/img/a.png"]
    entries = feedparser.parse((root / "site/feeds/news.atom").read_bytes()).entries
    content = {e.title: e.content[0].value for e in entries}
    assert srcs(content["first 报道"]) == [f"../{a}", f"../{b}"]
    assert server.base_url not in content["first 报道"]
    assert srcs(content["second 报道"])[0] == f"../{a}"
    assert server.url("/img/gone.png") in content["second 报道"]

    # with site.base_url, absolute
    with (root / "newsvault.toml").open("a", encoding="utf-8") as config:
        config.write('\n[site]\nbase_url = "https://mirror.example/news"\n')
    cli("-a", str(root), "publish", "site")
    entries = feedparser.parse((root / "site/feeds/all.atom").read_bytes()).entries
    first_entry = next(e for e in entries if e.title == "first 报道")
    assert srcs(first_entry.content[0].value) == [
        f"https://mirror.example/news/{a}",
        f"https://mirror.example/news/{b}",
    ]

    # nothing left to mirror: a second run fetches no image and writes nothing
    again = cli("-a", str(root), "run")
    assert "images:" not in again.output and "0 markdown files written" in again.output
    assert server.hits("/img/a.png") == 1


def test_git_mirrors_carry_the_pictures_and_importing_them_gives_back_the_bytes(
    tmp_path: Path, server: LoopbackServer
) -> None:
    pictures = newsroom(server)
    remote = tmp_path / "mirror.git"
    git("init", "-q", "--bare", str(remote))
    root = archive_of(tmp_path / "news", server, f'\n[publish.git]\nremotes = ["{remote}"]\n')
    # an archive published by an earlier version: media/ was ignored
    (root / ".gitignore").write_text("newsvault.db*\ncaptures/\nmedia/\n", encoding="utf-8")
    cli("-a", str(root), "run")
    pushed = cli("-a", str(root), "publish", "git")
    assert "newsvault: 2 articles added, 2 images added" in pushed.output
    assert "media/" not in (root / ".gitignore").read_text(encoding="utf-8").splitlines()
    a, b = copy_of(pictures["/img/a.png"], "png"), copy_of(pictures["/img/b.jpg"], "jpg")
    tree = git("--git-dir", str(remote), "ls-tree", "-r", "--name-only", "main").split()
    assert a in tree and b in tree
    assert not [path for path in tree if path.startswith(("captures/", "newsvault."))]

    # the originals go; a clone of the mirror still has every picture its articles link to
    for path in pictures:
        server.remove(path)
    clone = tmp_path / "clone"
    git("clone", "-q", "-b", "main", str(remote), str(clone))
    linked = [
        src
        for md in sorted((clone / "articles/news").glob("*.md"))
        for src in srcs(md.read_text(encoding="utf-8"))
        if src.startswith("/media/")
    ]
    assert sorted(set(linked)) == sorted({f"/{a}", f"/{b}"})
    assert all((clone / src[1:]).is_file() for src in linked)

    # imported into another archive and published again: the same bytes, the pictures with it
    (clone / media_name("0" * 64, "image/png")).parent.mkdir(parents=True)
    forged = clone / media_name("0" * 64, "image/png")
    forged.write_bytes(png(9))  # its name is not its digest: never brought in
    other = make_archive(tmp_path / "other", [])
    cli("-a", str(other.root), "import-markdown", str(clone))
    cli("-a", str(other.root), "publish", "markdown")
    for part in ("articles/news/1048574.md", "articles/news/1048573.md", "lists/news.md"):
        assert (other.root / part).read_bytes() == (clone / part).read_bytes(), part
    assert (other.root / a).read_bytes() == pictures["/img/a.png"]
    assert not (other.root / media_name("0" * 64, "image/png")).exists()
    cli("-a", str(other.root), "publish", "site")
    page = (other.root / "site/articles/news/1048574.html").read_text(encoding="utf-8")
    assert srcs(page) == [f"../../{a}", f"../../{b}"]
    assert (other.root / "site" / b).read_bytes() == pictures["/img/b.jpg"]


def test_proxy_goes_everywhere_the_mirror_would(tmp_path: Path, server: LoopbackServer) -> None:
    newsroom(server)
    root = archive_of(tmp_path / "news", server)
    config = root / "newsvault.toml"
    text = config.read_text(encoding="utf-8").replace(
        f'url = "{server.url("/feed.xml")}"\n',
        f'url = "{server.url("/feed.xml")}"\nimages = "proxy"\n',
    )
    config.write_text(
        text.replace(
            "[publish]\n", '[publish]\nimage_proxy = "https://proxy.example/?u=${href_ue}"\n'
        )
    )
    result = cli("-a", str(root), "run")
    assert "images:" not in result.output and not list((root / "media").rglob("*.png"))
    assert server.hits("/img/a.png") == 0  # readers' browsers ask the proxy, and nor do we
    proxied = "https://proxy.example/?u=" + server.url("/img/a.png").replace(":", "%3A").replace(
        "/", "%2F"
    )
    first = (root / "articles/news/1048574.md").read_text(encoding="utf-8")
    assert srcs(first)[0] == proxied
    cli("-a", str(root), "publish", "site")
    entries = feedparser.parse((root / "site/feeds/news.atom").read_bytes()).entries
    content = next(e for e in entries if e.title == "first 报道").content[0].value
    assert srcs(content)[0] == proxied
    page = (root / "site/articles/news/1048574.html").read_text(encoding="utf-8")
    assert srcs(page)[0] == proxied


def test_keep_leaves_every_copy_as_it_was(tmp_path: Path, server: LoopbackServer) -> None:
    newsroom(server)
    root = archive_of(tmp_path / "news", server)
    config = root / "newsvault.toml"
    url = server.url("/feed.xml")
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            f'url = "{url}"\n', f'url = "{url}"\nimages = "keep"\n'
        )
    )
    result = cli("-a", str(root), "run")
    assert "images:" not in result.output and server.hits("/img/a.png") == 0
    first = (root / "articles/news/1048574.md").read_text(encoding="utf-8")
    assert srcs(first) == [server.url("/img/a.png"), server.url("/img/b.jpg")]
    cli("-a", str(root), "publish", "site")
    entries = feedparser.parse((root / "site/feeds/news.atom").read_bytes()).entries
    content = next(e for e in entries if e.title == "first 报道").content[0].value
    assert srcs(content) == [server.url("/img/a.png"), server.url("/img/b.jpg")]


def test_archive_mirrors_the_pages_it_stores(tmp_path: Path, server: LoopbackServer) -> None:
    picture = jpeg("page")
    server.set("/p.jpg", Route(picture, headers=JPEG))
    page = (
        f"<html><head><title>平壤会谈</title></head><body><article><h1>平壤会谈</h1><p>{TEXT}</p>"
        '<figure><img src="/p.jpg"><figcaption>会谈现场</figcaption></figure>'
        "</article></body></html>"
    )
    server.set(
        "/a/page.html", Route(page.encode(), headers={"Content-Type": "text/html; charset=utf-8"})
    )
    root = make_archive(tmp_path / "news", []).root
    cli("-a", str(root), "archive", server.url("/a/page.html"))
    (md,) = (root / "articles").rglob("*.md")
    assert srcs(md.read_text(encoding="utf-8")) == ["/" + copy_of(picture, "jpg")]


def stored_with_image(root: Path, src: str) -> int:
    """An article stored with one image (its image job queued), published in full before it
    was mirrored."""
    archive = Archive(root)
    store = archive.store()
    try:
        source_id = store.ensure_source("news", "N")
        item = Article(
            source="news", key="k", url="https://news.example/k.html", title="图片新闻",
            html=f'<p>{TEXT}</p><img src="{src}">', text=TEXT, published=1718800000000,
            fetched=int(time.time() * 1000), images=[{"src": src, "caption": None}],
        )  # fmt: skip
        (added,) = store.add_articles(source_id, [item], None).new
        publish_markdown(store, root, images=ImageLinks({}, "https://proxy.example/${href}"))
        return added.id or 0
    finally:
        store.close()


def test_the_watcher_mirrors_and_publishes_again(tmp_path: Path, server: LoopbackServer) -> None:
    """`serve` without --watch too: its watcher takes image jobs beside submissions."""
    picture = png(7)
    server.set("/w.png", Route(picture, headers=PNG))
    root = make_archive(tmp_path / "news", []).root
    stored_with_image(root, server.url("/w.png"))
    md = root / "articles/news/1048574.md"
    assert srcs(md.read_text(encoding="utf-8")) == [server.url("/w.png")]
    cli("-a", str(root), "publish", "site")
    log = (tmp_path / "watch.log").open("w", encoding="utf-8")
    watcher = Watcher(root, EventLog("json", stream=log), kinds=SERVE_KINDS)
    background = BackgroundWatcher(watcher)
    background.start()
    try:
        deadline = time.monotonic() + 20
        while srcs(md.read_text(encoding="utf-8")) != ["/" + copy_of(picture, "png")]:
            assert time.monotonic() < deadline, md.read_text(encoding="utf-8")
            time.sleep(0.1)
    finally:
        background.stop()
        log.close()
    assert watcher.summary.images == 1
    page = (root / "site/articles/news/1048574.html").read_text(encoding="utf-8")
    assert srcs(page) == ["../../" + copy_of(picture, "png")]


def test_a_run_mirrors_what_a_killed_one_stored(tmp_path: Path, server: LoopbackServer) -> None:
    """An article stored and written, then the process killed before its images were
    mirrored: its image job is left, and the next run mirrors them and writes it again."""
    picture = png(11)
    server.set("/k.png", Route(picture, headers=PNG))
    root = make_archive(tmp_path / "news", []).root
    stored_with_image(root, server.url("/k.png"))
    result = cli("-a", str(root), "run")
    assert "images: 1 new in media/" in result.output and "1 markdown file written" in result.output
    md = (root / "articles/news/1048574.md").read_text(encoding="utf-8")
    assert srcs(md) == ["/" + copy_of(picture, "png")]


def test_a_page_of_many_images_mirrors_a_few(
    tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page with thousands of <img> must not send thousands of requests: the first
    MOST_PER_ARTICLE are mirrored, the rest keep their original URLs."""
    monkeypatch.setattr(image_module, "MOST_PER_ARTICLE", 3)
    for n in range(6):
        server.set(f"/many/{n}.png", Route(png(20 + n), headers=PNG))
    pictures = "".join(f'<img src="/many/{n}.png">' for n in range(6))
    page = f"<html><body><article><h1>图集</h1><p>{TEXT}</p>{pictures}</article></body></html>"
    server.set("/a/many.html", Route(page.encode(), headers={"Content-Type": "text/html"}))
    root = make_archive(tmp_path / "news", []).root
    cli("-a", str(root), "archive", server.url("/a/many.html"))
    assert sum(server.hits(f"/many/{n}.png") for n in range(6)) == 3
    (md,) = (root / "articles").rglob("*.md")
    shown = srcs(md.read_text(encoding="utf-8"))
    assert [src.startswith("/media/") for src in shown] == [True] * 3 + [False] * 3


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<p>x</p><img src="https://a.ex/1.png" alt="a">', '<p>x</p><img src="/m/1" alt="a">'),
        ("<IMG alt='s src=no' SRC='https://a.ex/1.png'>", "<IMG alt='s src=no' SRC=\"/m/1\">"),
        ("<img data-src=x src=https://a.ex/1.png>", '<img data-src=x src="/m/1">'),
        ('<img src="https://a.ex/2.png?a=1&amp;b=2" />', '<img src="/m/2" />'),
        ('<img alt="1 > 0" src="https://a.ex/1.png">', '<img alt="1 > 0" src="/m/1">'),
        ('<img  src = "https://b.ex/3.png" >', '<img  src = "https://b.ex/3.png" >'),
        ('<img src="https://a.ex/1.png" src="https://a.ex/2.png">',
         '<img src="/m/1" src="https://a.ex/2.png">'),
        ("<imgx src=https://a.ex/1.png><img>", "<imgx src=https://a.ex/1.png><img>"),
        ('<img src="https://a.ex/1.png"/>', '<img src="/m/1"/>'),
    ],
)  # fmt: skip
def test_only_the_src_of_a_mirrored_image_changes(html: str, expected: str) -> None:
    copies = {"https://a.ex/1.png": "/m/1", "https://a.ex/2.png?a=1&b=2": "/m/2"}
    assert point_images(html, lambda url: copies.get(url, url)) == expected


def test_an_archive_with_no_copy_keeps_its_bytes(tmp_path: Path) -> None:
    """The seed article, imported, published with the archive's image links (the default
    policy, mirror) and no copy in media/: byte for byte."""
    seed = Path(__file__).parent / "data" / "voa-1048574.md"
    old = tmp_path / "old"
    (old / "articles/voa").mkdir(parents=True)
    shutil.copy(seed, old / "articles/voa/1048574.md")
    archive = make_archive(tmp_path / "news", [])
    cli("-a", str(archive.root), "import-markdown", str(old))
    cli("-a", str(archive.root), "publish", "markdown")
    assert "<img" in seed.read_text(encoding="utf-8")
    assert (archive.root / "articles/voa/1048574.md").read_bytes() == seed.read_bytes()
