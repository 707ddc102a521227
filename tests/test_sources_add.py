"""`sources add` (and POST /api/sources) fetch a URL once before following it: a feed is
taken with its title as the name, a web page's own feed is found through its
<link rel="alternate">, anything else is refused in one line with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsvault.archive import Archive
from newsvault.discover import feed_links
from newsvault.loopback import LoopbackServer, Route
from newsvault.opml import make_slug, title_slug

from .conftest import make_archive
from .feedgen import rss
from .test_cli import cli
from .test_web import TOKEN, call, configure, serving

RSS = {"Content-Type": "application/rss+xml"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom news</title>
<link href="https://atom.example.org/"/><id>urn:x</id><updated>2024-06-19T13:00:00Z</updated>
</feed>"""


def page(head: str) -> bytes:
    html = f"<!doctype html><html><head><title>A site</title>{head}</head><body><p>hi</p></body>"
    return (html + "</html>").encode()


@pytest.fixture
def news(tmp_path: Path) -> tuple[str, ...]:
    root = tmp_path / "news"
    make_archive(root, [])
    return ("-a", str(root))


def followed(a: tuple[str, ...]) -> list[tuple[str, str, str]]:
    return [(s.slug, s.name, s.url) for s in Archive(Path(a[1])).sources()]


def test_a_feed_is_named_by_its_title_and_an_address_gets_a_slug_from_it(
    news: tuple[str, ...], server: LoopbackServer
) -> None:
    for path, title in (("/a.xml", "美國之音"), ("/b.xml", "美國之音"), ("/c.xml", "Всё")):
        server.set(path, Route(rss(title, 1, base=server.base_url), headers=RSS))
    said = cli(*news, "sources", "add", server.url("/a.xml")).stdout
    assert said == f"Added source meiguozhiyin (美國之音): {server.url('/a.xml')}\n"
    cli(*news, "sources", "add", server.url("/b.xml"))
    cli(*news, "sources", "add", server.url("/c.xml"))
    cli(*news, "sources", "add", server.url("/a.xml").replace("a.xml", "c.xml?x=1"), "--name", "")
    assert [slug for slug, _, _ in followed(news)] == [
        "meiguozhiyin", "meiguozhiyin-2", "feed", "feed-2",
    ]  # fmt: skip
    assert [r.path for r in server.requests] == ["/a.xml", "/b.xml", "/c.xml", "/c.xml"]
    # the site the feed is of is kept, for OPML export's htmlUrl
    assert Archive(Path(news[1])).sources()[0].home == server.base_url + "/"


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        (Route(b"not here", status=404, headers=HTML), "HTTP 404"),
        (Route(page('<link rel="stylesheet" href="/s.css">'), headers=HTML), "names no feed"),
        (Route(b"", headers=RSS), "empty response"),
        (Route(b"<rss><channel><title>T</title>", headers=RSS), "truncated XML"),
        (Route(b'{"just": "json"}', headers={"Content-Type": "application/json"}), "feed"),
    ],
)
def test_what_is_not_a_feed_is_refused_in_one_line(
    news: tuple[str, ...], server: LoopbackServer, route: Route, reason: str
) -> None:
    server.set("/x", route)
    refused = cli(*news, "sources", "add", server.url("/x"), "--name", "X", code=2)
    assert refused.stderr.count("\n") == 1 and refused.stderr.startswith("newsvault: ")
    assert server.url("/x") in refused.stderr and reason in refused.stderr, refused.stderr
    assert followed(news) == []


def test_a_site_page_leads_to_the_first_feed_it_names(
    news: tuple[str, ...], server: LoopbackServer
) -> None:
    links = (
        '<link rel="stylesheet" type="text/css" href="/feed.css">'
        '<link rel="alternate" hreflang="en" href="/en/">'
        '<link rel="Alternate" type="application/atom+xml; charset=utf-8" href="feeds/atom.xml">'
        '<link rel="alternate" type="application/rss+xml" href="/rss.xml" title="RSS">'
    )
    server.set("/site/", Route(page(links), headers=HTML))
    server.set(
        "/site/feeds/atom.xml", Route(ATOM, headers={"Content-Type": "application/atom+xml"})
    )
    said = cli(*news, "sources", "add", server.url("/site/"), "--category", "World/Asia").stdout
    atom, other = server.url("/site/feeds/atom.xml"), server.url("/rss.xml")
    assert said.splitlines() == [
        f"{server.url('/site/')} is a web page naming 2 feeds; the first taken: {atom} "
        f"(the others: {other})",
        f"Added source atom-news (Atom news): {atom}",
    ]
    (source,) = Archive(Path(news[1])).sources()
    assert (source.url, source.category, source.home) == (
        atom,
        "World/Asia",
        "https://atom.example.org/",
    )
    assert "/rss.xml" not in [r.path for r in server.requests]  # only the first is fetched


def test_one_feed_named_is_said_and_its_failure_names_both_urls(
    news: tuple[str, ...], server: LoopbackServer
) -> None:
    server.set(
        "/one/",
        Route(
            page('<link rel="alternate" type="application/feed+json" href="/f.json">'), headers=HTML
        ),
    )
    refused = cli(*news, "sources", "add", server.url("/one/"), code=2).stderr
    assert refused == (
        f"newsvault: {server.url('/one/')}: the feed it names, {server.url('/f.json')}: HTTP 404\n"
    )
    server.set(
        "/f.json",
        Route(
            b'{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": []}',
            headers={"Content-Type": "application/feed+json"},
        ),
    )
    said = cli(*news, "sources", "add", server.url("/one/"), "--json").stdout
    shown = json.loads(said)
    assert shown["url"] == server.url("/f.json") and shown["name"] == "J"
    assert shown["found_in"] == server.url("/one/") and shown["feeds_named"] == [shown["url"]]
    assert shown["home"] == server.url("/one/")  # the feed names no site: the page is its home
    server.set(
        "/two/",
        Route(
            page('<link rel="alternate" type="application/rss+xml" href="/r.xml">'), headers=HTML
        ),
    )
    server.set("/r.xml", Route(rss("R", 1, base=server.base_url), headers=RSS))
    said = cli(*news, "sources", "add", server.url("/two/"), "--slug", "r").stdout
    assert (
        said.splitlines()[0]
        == f"{server.url('/two/')} is a web page; its feed: {server.url('/r.xml')}"
    )


def test_the_slug_comes_from_the_site_asked_for_not_the_feed_host_it_names(
    news: tuple[str, ...], server: LoopbackServer
) -> None:
    feed = server.url("/elsewhere.xml")  # as a site's feed on feeds.feedburner.com
    server.set("/elsewhere.xml", Route(rss("别处", 1), headers=RSS))
    server.set(
        "/site",
        Route(
            page(f'<link rel="alternate" type="application/rss+xml" href="{feed}">'), headers=HTML
        ),
    )
    site = server.url("/site").replace("127.0.0.1", "localhost")
    assert "Added source localhost (别处): " + feed in cli(*news, "sources", "add", site).stdout


def test_no_check_adds_without_a_request_and_refusals_come_before_any(
    news: tuple[str, ...], server: LoopbackServer
) -> None:
    url = server.url("/nothing-yet.xml")
    said = cli(*news, "sources", "add", url, "--no-check").stdout
    assert said == f"Added source feed (127.0.0.1): {url}\n"
    assert cli(*news, "sources", "add", url, code=2).stderr.endswith("is already followed\n")
    assert (
        "slug 'feed'" in cli(*news, "sources", "add", url + "?2", "--slug", "feed", code=2).stderr
    )
    assert "slug 'all'" in cli(*news, "sources", "add", url + "?2", "--slug", "all", code=2).stderr
    assert server.requests == []
    added = cli(*news, "sources", "add", "https://feeds.example.org/w.xml", "--no-check").stdout
    assert added == "Added source example (feeds.example.org): https://feeds.example.org/w.xml\n"


def test_the_fetch_goes_through_the_address_guard(tmp_path: Path, server: LoopbackServer) -> None:
    root = tmp_path / "news"
    make_archive(root, [], allow_private_networks=False)
    server.set("/a.xml", Route(rss("A", 1), headers=RSS))
    refused = cli("-a", str(root), "sources", "add", server.url("/a.xml"), code=2).stderr
    assert refused == (
        f"newsvault: {server.url('/a.xml')}: 127.0.0.1 is a private address; "
        "set fetch.allow_private_networks = true to allow it\n"
    )
    assert server.requests == [] and Archive(root).sources() == []


def test_the_api_checks_too(tmp_path: Path, server: LoopbackServer) -> None:
    root = tmp_path / "news"
    make_archive(root, [])
    configure(root, f'[serve]\nadmin_token = "{TOKEN}"\n')
    server.set("/page", Route(page(""), headers=HTML))
    server.set(
        "/site",
        Route(
            page('<link rel="alternate" type="application/rss+xml" href="/f.xml">'), headers=HTML
        ),
    )
    server.set("/f.xml", Route(rss("快讯", 1, base=server.base_url), headers=RSS))
    with serving(root) as base:
        status, body, _ = call(
            "POST", f"{base}/api/sources", {"url": server.url("/page")}, token=TOKEN
        )
        assert status == 400 and "names no feed" in body["detail"]
        status, body, _ = call(
            "POST", f"{base}/api/sources", {"url": server.url("/site")}, token=TOKEN
        )
        assert status == 201, body
        assert (body["slug"], body["name"], body["url"]) == (
            "kuaixun",
            "快讯",
            server.url("/f.xml"),
        )
        assert body["found_in"] == server.url("/site")
        offline = {"url": "https://x.example.org/feed", "name": "X", "check": False}
        status, body, _ = call("POST", f"{base}/api/sources", offline, token=TOKEN)
        assert status == 201 and body["slug"] == "x"
    assert [s.slug for s in Archive(root).sources()] == ["kuaixun", "x"]


def test_feed_links_are_read_from_the_head_as_feed_readers_do() -> None:
    html = (
        b'<html><head><base href="https://cdn.example.org/b/">'
        b'<link rel="alternate" type="application/rss+xml" href="rss.xml">'
        b'<link rel="alternate" type="application/rss+xml" href="https://cdn.example.org/b/rss.xml">'
        b'<link rel="alternate" type="text/html" href="/zh/">'
        b'<link rel="alternate stylesheet" type="application/atom+xml" href="javascript:x()">'
        b"</head><body></body></html>"
    )
    assert feed_links(html, "text/html", "https://example.org/") == [
        "https://cdn.example.org/b/rss.xml"
    ]
    gbk = (
        '<html><head><meta charset="gbk"><title>新闻</title>'
        '<link rel="alternate" type="application/atom+xml" href="/新闻.xml"></head></html>'
    )
    assert feed_links(gbk.encode("gbk"), None, "https://e.org/") == ["https://e.org/新闻.xml"]
    assert feed_links(b"", None, "https://e.org/") == []
    assert feed_links(b"\x00\xff binary", None, "https://e.org/") == []


def test_slugs_from_titles_keep_the_slug_rules() -> None:
    assert title_slug("美国之音 VOA中文") == "meiguozhiyin-voazhongwen"
    assert title_slug("Radio Café — 自由亞洲") == "radio-cafe-ziyouyazhou"
    assert title_slug("«»") == ""
    assert make_slug("http://127.0.0.1:9/f", set(), "Index") == "index-2"  # reserved
    assert make_slug("http://[::1]:9/f", {"all-2"}, "ALL") == "all-3"
    assert make_slug("http://10.0.0.1/f", set(), "长" * 60) == "chang" * 8
    assert make_slug("http://10.0.0.1/f", set(), "_x_") == "x"
    assert make_slug("https://feeds.bbci.co.uk/news/rss.xml", set(), "BBC") == "bbci"
