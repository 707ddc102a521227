"""One bad feed item: skipped with a reason, never a traceback, never the end of the run, and
never a live link or markup in what is published."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsvault.archive import Archive
from newsvault.cli import app
from newsvault.loopback import LoopbackServer, Route
from newsvault.models import Article
from newsvault.publish.markdown import parse_article, render_article
from newsvault.stories import process
from newsvault.stories.search import search

from .conftest import make_archive
from .feedgen import rss
from .inert import active_in_json, active_markup

runner = CliRunner()
RSS = {"Content-Type": "application/rss+xml"}


def cli(*args: str, code: int = 0):
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    return result


def channel(*items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        "<link>https://news.example.com/</link>" + "".join(items) + "</channel></rss>"
    ).encode()


def item(guid: str, title: str = "", link: str = "", description: str = "") -> str:
    parts = [f"<guid>{guid}</guid>"]
    if title:
        parts.append(f"<title>{title}</title>")
    if link:
        parts.append(f"<link>{link}</link>")
    if description:
        parts.append(f"<description>{description}</description>")
    return "<item>" + "".join(parts) + "</item>"


GOOD = item(
    "good",
    "普京抵达平壤 俄朝签署条约",
    "https://news.example.com/good.html",
    "&lt;p&gt;" + "俄罗斯总统普京周三抵达平壤，与朝鲜领导人金正恩会谈。" * 12 + "&lt;/p&gt;",
)


def archive_of(tmp_path: Path, server: LoopbackServer, feeds: dict[str, bytes], **fetch) -> Path:
    sources = []
    for slug, body in feeds.items():
        kind = "application/feed+json" if body.lstrip().startswith(b"{") else RSS["Content-Type"]
        server.set(f"/{slug}", Route(body, headers={"Content-Type": kind}))
        sources.append((slug, slug, server.url(f"/{slug}")))
    return make_archive(tmp_path / "news", sources, **fetch).root


def test_the_three_items_that_stopped_a_run_are_skipped_and_the_rest_archived(
    tmp_path: Path, server: LoopbackServer
) -> None:
    json_feed = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "J",
            "items": [
                {"id": "c1", "url": "https://j.example.com/1", "content_html": "<p>a\u0001b</p>"},
                {"id": "c2", "url": "https://j.example.com/2", "title": "第二条",
                 "content_html": "<p>ok</p>"},
            ],
        }
    ).encode()  # fmt: skip
    feeds = {
        "ipv6": channel(item("http://example.c[o.test/", "坏的网址"), GOOD),
        "doctype": channel(
            item("d1", "", "https://news.example.com/d1", "&lt;!DOCTYPE"), item("d2", "好的")
        ),
        "json": json_feed,
        "after": rss("after", 3),
    }
    root = archive_of(tmp_path, server, feeds, retries=0)
    result = cli("-a", str(root), "run")
    assert "skipped" in result.output and "http://example.c[o.test/" in result.output
    shown = json.loads(cli("-a", str(root), "list", "--json").output)
    by_source: dict[str, list[str]] = {}
    for article in shown:
        by_source.setdefault(article["source"], []).append(article["title"])
    assert by_source["ipv6"] == ["普京抵达平壤 俄朝签署条约"]
    assert len(by_source["doctype"]) == 2
    assert sorted(by_source["json"]) == ["ab", "第二条"]  # the control character is gone
    assert len(by_source["after"]) == 3
    states = {
        s["slug"]: s for s in json.loads(cli("-a", str(root), "sources", "list", "--json").output)
    }
    assert "1 item skipped" in states["ipv6"]["note"]
    assert states["ipv6"]["last_error"] is None and states["after"]["note"] is None
    again = cli("-a", str(root), "run")  # and nothing twice
    assert "0 new articles" in again.output


@pytest.mark.parametrize(
    "title, text, link", [("a", "", "https://news.example.com/t1"), ("", "", ""), ("!", "?", "")]
)
def test_items_without_search_terms_keep_the_archive_usable(
    tmp_path: Path, server: LoopbackServer, title: str, text: str, link: str
) -> None:
    feeds = {"terse": channel(item("t1", title, link, text), GOOD)}
    root = archive_of(tmp_path, server, feeds, retries=0)
    for command in (["run"], ["run"], ["publish", "site"], ["stories"], ["list"]):
        cli("-a", str(root), *command)
    assert "1 result for 普京" in cli("-a", str(root), "search", "普京").output


def test_an_article_that_breaks_the_stories_stage_is_set_aside(
    tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = archive_of(tmp_path, server, {"news": rss("news", 5)})
    real = process.salient_terms

    def failing(folded_title: str, folded_text: str):
        if "新闻 2" in folded_title:
            raise RuntimeError("an input nobody foresaw")
        return real(folded_title, folded_text)

    monkeypatch.setattr(process, "salient_terms", failing)
    cli("-a", str(root), "run")
    store = Archive(root).store()
    try:
        report = process.process_pending(store)  # nothing left pending, nothing raised
        assert (report.articles, report.failed) == (0, 0)
        hits = search(store, "普京", limit=10)
        assert len(hits) == 4  # every article but the one set aside
        assert all("新闻 2" not in hit.article.title for hit in hits)
    finally:
        store.close()
    cli("-a", str(root), "run")


HOSTILE_TITLE = (
    "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; "
    "[x](javascript:alert(2))"
)


def test_links_and_titles_leave_the_archive_inert(tmp_path: Path, server: LoopbackServer) -> None:
    feeds = {
        "bad": channel(
            item("js", "脚本链接", "javascript:alert(1)", "text of the first item " * 20),
            item("data", "数据链接", "data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;"),
            item(
                "nbsp",
                "不换行空格",
                "https://news.example.com/nbsp",
                '&lt;p&gt;&lt;a href="\u00a0javascript:alert(1)"&gt;click&lt;/a&gt;'
                '&lt;a href="\u2003JaVaScRiPt:alert(1)"&gt;em&lt;/a&gt;'
                '&lt;img src="\u00a0javascript:alert(1)"&gt;&lt;/p&gt;',
            ),
            item("title", HOSTILE_TITLE, "https://news.example.com/title", "body"),
        )
    }
    root = archive_of(tmp_path, server, feeds, retries=0)
    cli("-a", str(root), "run")
    cli("-a", str(root), "publish", "site")
    written = [p for folder in ("articles", "lists", "site") for p in (root / folder).rglob("*")]
    found = [
        (str(path), f)
        for path in written
        if path.suffix in (".md", ".html", ".atom")
        for f in active_markup(path.read_text(encoding="utf-8"))
    ]
    listed = cli("-a", str(root), "list", "--json").output
    answers = [listed]
    for article in json.loads(listed):
        answers.append(cli("-a", str(root), "show", str(article["id"]), "--format", "json").output)
        md = cli("-a", str(root), "show", str(article["id"]), "--format", "md").output
        found += [("show md", f) for f in active_markup(md, markdown=True)]
    cli("-a", str(root), "export", "--format", "jsonl", "--output", str(tmp_path / "out.jsonl"))
    answers.append((tmp_path / "out.jsonl").read_text(encoding="utf-8"))
    found += [("json", f) for answer in answers for f in active_in_json(answer)]
    assert found == []
    markdown = (root / "articles" / "bad").glob("*.md")
    titled = [parse_article(p.read_text(encoding="utf-8"), str(p)) for p in markdown]
    hostile = next(a for a in titled if "alert(2)" in a.title)
    assert (
        hostile.title
        == "<script>alert(1)</script><img src=x onerror=alert(1)> [x](javascript:alert(2))"
    )
    first_line = render_article(
        Article(source="s", url="https://a.test/", title=hostile.title, html="", text="",
                published=0, fetched=0)
    ).splitlines()[1]  # fmt: skip
    assert first_line.startswith("[&lt;script&gt;") and "]\\(javascript" in first_line


def test_an_unsafe_link_stored_by_an_older_version_is_not_published(tmp_path: Path) -> None:
    archive = Archive.init(tmp_path / "news", config_text="")
    store = archive.store()
    try:
        source_id = store.ensure_source("old", "Old", "")
        html = '<p><a href="\u00a0javascript:alert(1)">x</a> <a href="https://ok.test/">ok</a></p>'
        store.import_article(
            source_id,
            Article(source="old", number=1048574, key="k", url="javascript:alert(1)",
                    title="旧的", html=html, text="x ok", published=0, fetched=0,
                    images=[{"src": "data:image/png;base64,AAAA", "caption": None}]),
        )  # fmt: skip
        article = store.article_by_number("old", 1048574)
    finally:
        store.close()
    assert article is not None
    assert article.url == "" and article.images == []
    assert article.html == '<p><a>x</a> <a href="https://ok.test/">ok</a></p>'


def test_a_markup_title_does_not_break_the_terminal_tables(
    tmp_path: Path, server: LoopbackServer
) -> None:
    feeds = {"rich": channel(item("r", "closing [/x] and [bold]tags[/bold]", "https://a.test/r"))}
    root = archive_of(tmp_path, server, feeds, retries=0)
    cli("-a", str(root), "run")
    listed = runner.invoke(app, ["-a", str(root), "list"], terminal_width=200)
    assert listed.exit_code == 0, listed.output
    assert "closing [/x] and" in listed.output and "[bold]tags[/bold]" in listed.output
    assert runner.invoke(app, ["-a", str(root), "search", "closing"]).exit_code == 0


def test_a_large_feed_is_taken_in_polls_of_max_items(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.set("/big", Route(rss("big", 25), headers=RSS, etag='"same"'))
    root = make_archive(tmp_path / "news", [("big", "Big", server.url("/big"))], max_items=10).root
    first = cli("-a", str(root), "run")
    assert "10 new articles" in first.output
    assert "15 new items past fetch.max_items" in first.output
    for expected_new in (10, 5, 0):
        result = cli("-a", str(root), "run")
        assert f"{expected_new} new articles" in result.output
    sent = [r.headers.get("If-None-Match") for r in server.requests if r.path == "/big"]
    assert sent == [None, None, None, '"same"']  # validators kept only once all was taken
    articles = json.loads(cli("-a", str(root), "list", "--json").output)
    numbers = sorted(a["number"] for a in articles)
    assert numbers == list(range(1048574 - 24, 1048575))
    titles = {
        a["number"]: a["title"] for a in json.loads(cli("-a", str(root), "list", "--json").output)
    }
    # the newest ten came first; later polls took older ones, so numbers follow the polls
    assert titles[1048574] == "big 新闻 15" and titles[1048574 - 24] == "big 新闻 4"


def test_full_text_pages_that_fail_are_reported(tmp_path: Path, server: LoopbackServer) -> None:
    page = "<html><body><article><p>" + "这是文章的全文。" * 100 + "</p></article></body></html>"
    server.set("/page-ok.html", Route(page.encode(), headers={"Content-Type": "text/html"}))
    server.set("/page-gone.html", Route(b"gone", status=404))
    feed = channel(
        item("p1", "有全文", server.url("/page-ok.html"), "摘要"),
        item("p2", "没有全文", server.url("/page-gone.html"), "摘要"),
    )
    server.set("/f", Route(feed, headers=RSS))
    root = make_archive(tmp_path / "news", [("f", "F", server.url("/f"))], retries=0).root
    text = (
        (root / "newsvault.toml").read_text().replace('url = "', 'fetch_full = "always"\nurl = "')
    )
    (root / "newsvault.toml").write_text(text)
    result = cli("-a", str(root), "run")
    assert "1 page failed" in result.output
    assert "f: 1 article page could not be fetched" in result.output


def test_an_unforeseen_error_is_one_line_and_keeps_the_archive(
    tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = archive_of(tmp_path, server, {"news": rss("news", 2)})
    cli("-a", str(root), "run")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug\nover two lines")

    monkeypatch.setattr("newsvault.cli.publish_markdown", broken)
    result = runner.invoke(app, ["-a", str(root), "publish", "markdown"])
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1
    assert "internal error: RuntimeError: a bug over two lines" in result.stderr
    assert "NEWSVAULT_DEBUG=1" in result.stderr
    assert len(json.loads(cli("-a", str(root), "list", "--json").output)) == 2


def test_library_log_records_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from newsvault import logs

    logs.configure()
    try:
        raise ValueError("All strings must be XML compatible")
    except ValueError:
        logging.getLogger("some.library").exception("error getting summary:")
        logging.getLogger("readability.readability").exception("error getting summary:")
    printed = capsys.readouterr().err
    assert printed == (
        "newsvault: error: some.library: error getting summary: "
        "(ValueError: All strings must be XML compatible)\n"
    )
