"""Edits are compared like with like: a feed item with what the feed said before, never a
feed's summary with the text of the item's page."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from newsvault.cli import app
from newsvault.loopback import LoopbackServer, Route

from .conftest import make_archive

runner = CliRunner()
RSS = {"Content-Type": "application/rss+xml"}
PAGE = (
    "<html><head><title>平壤会谈</title></head><body><article><h1>平壤会谈</h1>"
    + "<p>俄罗斯总统普京周三抵达平壤，与朝鲜领导人金正恩举行会谈，双方签署了条约。</p>" * 8
    + "</article></body></html>"
)


def feed(base: str, *items: tuple[str, str, str]) -> bytes:
    """An RSS document of (guid, title, summary) items linking to base/<guid>.html."""
    body = "".join(
        f"<item><guid>{guid}</guid><title>{title}</title><link>{base}/{guid}.html</link>"
        f"<description>{summary}</description></item>"
        for guid, title, summary in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>F</title>'
        f"<link>https://f.example.com/</link>{body}</channel></rss>"
    ).encode()


def cli(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def _column(output: str, name: str) -> int:
    """A number from the run's table (tab-separated off a terminal), in the row of source f."""
    header = next(line for line in output.splitlines() if name in line and "source" in line)
    row = next(line for line in output.splitlines() if line.startswith("f\t"))
    return int(row.split("\t")[header.split("\t").index(name)])


def test_a_new_entry_does_not_make_a_page_sourced_article_edited(
    tmp_path: Path, server: LoopbackServer
) -> None:
    base = server.base_url
    server.set("/a1.html", Route(PAGE.encode(), headers={"Content-Type": "text/html"}))
    server.set("/a2.html", Route(PAGE.encode(), headers={"Content-Type": "text/html"}))
    server.set("/f", Route(feed(base, ("a1", "平壤会谈", "普京抵达平壤。")), headers=RSS))
    root = make_archive(tmp_path / "news", [("f", "F", server.url("/f"))]).root
    first = cli("-a", str(root), "run")
    assert _column(first, "full text") == 1
    # the feed gains an entry and rewrites the old one's summary: neither is an edit of a1,
    # whose stored text is its page's
    server.set(
        "/f",
        Route(
            feed(base, ("a2", "第二篇", "又一篇。"), ("a1", "平壤会谈", "普京周三抵达平壤。")),
            headers=RSS,
        ),
    )
    second = cli("-a", str(root), "run")
    assert _column(second, "new") == 1 and _column(second, "edited") == 0
    articles = json.loads(cli("-a", str(root), "list", "--json"))
    a1 = next(a for a in articles if a["title"] == "平壤会谈")
    shown = json.loads(cli("-a", str(root), "show", str(a1["id"]), "--format", "json"))
    assert shown.get("versions", 0) == 0


def test_an_edited_feed_item_is_a_version(tmp_path: Path, server: LoopbackServer) -> None:
    base = server.base_url
    long_text = "俄罗斯总统普京周三抵达平壤，与金正恩举行会谈。" * 20
    server.set("/f", Route(feed(base, ("b1", "会谈", long_text)), headers=RSS))
    root = make_archive(tmp_path / "news", [("f", "F", server.url("/f"))]).root
    cli("-a", str(root), "run")
    server.set(
        "/f", Route(feed(base, ("b1", "会谈", long_text.replace("周三", "周二", 1))), headers=RSS)
    )
    assert _column(cli("-a", str(root), "run"), "edited") == 1
    assert _column(cli("-a", str(root), "run"), "edited") == 0  # the same edit, not again
