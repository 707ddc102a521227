"""Archiving pages end to end against the loopback server: `archive`, `extract`, `rules test`,
and the full-text fetch of summary-only feed items during `run`."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

from newsvault.archive import Archive
from newsvault.extract.rules import PACKAGE_RULES
from newsvault.loopback import LoopbackServer, Route

from .conftest import make_archive
from .test_cli import cli

PAGE = gzip.decompress((PACKAGE_RULES / "samples" / "bannedbook-seed-002.html.gz").read_bytes())
ARTICLE = (
    "<html><head><title>Rain at last | Daily</title></head><body><nav>Home News Sport</nav>"
    "<article><h1>Rain at last</h1><p>By Jane Roe</p>"
    + "".join(
        f"<p>Report {n}: the first rain in months fell on the city on Monday, filling the "
        f"reservoirs of district {n} to {n * 10} percent of what they hold.</p>"
        for n in range(1, 6)
    )
    + "</article><footer>Copyright Daily</footer></body></html>"
).encode()


def test_archive_a_url_then_again(tmp_path: Path, server: LoopbackServer) -> None:
    server.set("/news/rain.html", Route(ARTICLE, headers={"Content-Type": "text/html"}))
    server.set("/gone.html", Route(b"not here", status=404))
    server.set("/doc.pdf", Route(b"%PDF-1.5 ...", headers={"Content-Type": "application/pdf"}))
    root = tmp_path / "news"
    make_archive(root, [])
    a = ("-a", str(root))
    first = json.loads(cli(*a, "archive", server.url("/news/rain.html"), "--json").output)
    assert first[0]["outcome"] == "new"
    article = first[0]["article"]
    assert article["title"] == "Rain at last" and "reservoirs" in article["text"]
    assert article["source"] == "127-0-0-1"
    again = json.loads(cli(*a, "archive", server.url("/news/rain.html"), "--json").output)
    assert again[0]["outcome"] == "unchanged" and again[0]["article"]["id"] == article["id"]
    assert len(json.loads(cli(*a, "list", "--json").output)) == 1
    assert (root / article["path"]).read_text(encoding="utf-8").startswith("<!--")
    bad = cli(*a, "archive", server.url("/gone.html"), server.url("/doc.pdf"), "--json", code=1)
    outcomes = [r["outcome"] for r in json.loads(bad.output)]
    assert outcomes == ["failed: HTTP 404", "no article found: not HTML but a PDF document"]
    store = Archive(root).store()
    assert store.page_outcomes(server.url("/doc.pdf")) == [
        "no article found: not HTML but a PDF document"
    ]
    assert store.capture(1) is not None  # the raw bytes are kept whatever came of them
    store.close()
    cli(*a, "archive", "javascript:alert(1)", code=2)


def test_archive_a_saved_copy_under_its_site_rule(tmp_path: Path) -> None:
    saved = tmp_path / "page.html"
    saved.write_bytes(PAGE)
    root = tmp_path / "news"
    make_archive(root, [])
    url = "https://www.bannedbook.org/bnews/worldnews/20240620/seed-002.html"
    result = json.loads(
        cli("-a", str(root), "archive", url, "--from-file", str(saved), "--json").output
    )
    article = result[0]["article"]
    assert (article["source"], article["author"], article["origin"]) == (
        "bannedbook",
        "張柏源",
        "新头壳",
    )
    assert (root / "articles" / "bannedbook" / "1048574.md").exists()
    assert "禁闻网" in (root / "lists" / "bannedbook.md").read_text(encoding="utf-8")


def test_extract_files_in_every_format(tmp_path: Path) -> None:
    page = tmp_path / "page.html.gz"
    page.write_bytes(gzip.compress(b"<!-- https://news.example.com/rain -->\n" + ARTICLE))
    empty = tmp_path / "empty.html"
    empty.write_bytes(b"")
    lines = cli("extract", str(page), str(empty), "--format", "jsonl", code=1).stdout.splitlines()
    first, second = (json.loads(line) for line in lines)
    assert (first["file"], first["url"], first["title"]) == (
        str(page),
        "https://news.example.com/rain",
        "Rain at last",
    )
    assert second == {"file": str(empty), "error": "no article found: the page is empty"}
    single = json.loads(cli("extract", str(page), "--url", "https://x.example/a").stdout)
    assert single["url"] == "https://x.example/a" and "reservoirs" in single["text"]
    assert cli("extract", str(page), "-f", "text").stdout.startswith("Rain at last\n\n")
    assert "<p>" in cli("extract", str(page), "-f", "html").stdout
    assert cli("extract", str(page), "-f", "md").stdout.startswith("<!--")
    cli("extract", str(page), "-f", "pdf", code=2)
    missing = cli("extract", str(tmp_path / "nope.html"), code=2)
    assert "cannot read" in missing.stderr


def test_rules_test_reports_every_sample() -> None:
    result = cli("rules", "test")
    assert re.search(r"samples passing: (\d+) of \1 ", result.output)
    assert "samples passing: 1 of 1 (1 rule)" in cli("rules", "test", "www.bannedbook.org").output
    cli("rules", "test", "no-such-host.example", code=2)


def test_run_fetches_the_page_of_a_summary_only_item(
    tmp_path: Path, server: LoopbackServer
) -> None:
    feed = f"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>D</title>
    <item><title>Rain at last</title><link>{server.url("/news/rain.html")}</link>
    <description>Rain fell.</description></item></channel></rss>""".encode()
    server.set("/feed.xml", Route(feed, headers={"Content-Type": "application/rss+xml"}))
    server.set("/news/rain.html", Route(ARTICLE, headers={"Content-Type": "text/html"}))
    root = tmp_path / "news"
    make_archive(root, [("daily", "Daily", server.url("/feed.xml"))])
    cli("-a", str(root), "run")
    (article,) = json.loads(cli("-a", str(root), "list", "--json").output)
    assert "filling the reservoirs" in article["text"] and article["title"] == "Rain at last"
    hits = server.hits("/news/rain.html")
    cli("-a", str(root), "run")  # the item is known: its page is not fetched again
    assert server.hits("/news/rain.html") == hits
    # Submitting the page of an article a feed brought answers with that article.
    (again,) = json.loads(
        cli("-a", str(root), "archive", server.url("/news/rain.html"), "--json").output
    )
    assert again["outcome"] == "unchanged" and again["article"]["id"] == article["id"]
    assert again["article"]["source"] == "daily"


def test_run_stores_the_pages_of_a_batch_with_their_captures(
    tmp_path: Path, server: LoopbackServer
) -> None:
    """The pages of a feed's summary-only items are kept and recorded with their batch: each
    article points at its page's capture, a page two items link to is captured once, a page
    holding no article is recorded as such, and extraction health counts them all."""
    rain, empty = server.url("/news/rain.html"), server.url("/news/empty.html")
    items = [("1", "Rain at last", rain), ("2", "Rain, again", rain), ("3", "Empty", empty)]
    feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>D</title>'
        + "".join(
            f"<item><guid>{guid}</guid><title>{title}</title><link>{link}</link>"
            "<description>Rain fell.</description></item>"
            for guid, title, link in items
        )
        + "</channel></rss>"
    ).encode()
    server.set("/feed.xml", Route(feed, headers={"Content-Type": "application/rss+xml"}))
    server.set("/news/rain.html", Route(ARTICLE, headers={"Content-Type": "text/html"}))
    server.set("/news/empty.html", Route(b"<html><body><p>Soon.</p></body></html>"))
    root = tmp_path / "news"
    make_archive(root, [("daily", "Daily", server.url("/feed.xml"))])
    cli("-a", str(root), "run")
    store = Archive(root).store()
    try:
        by_url = {a.url: a for a in store.articles()}
        assert "filling the reservoirs" in by_url[rain].text
        assert by_url[empty].text == "Rain fell."  # no article on its page: the summary kept
        captured = [store.capture(n) for n in range(1, 10)]
        assert [c.url for c in captured if c is not None].count(rain) == 1
        capture = store.capture(by_url[rain].capture_id or 0)
        assert capture is not None and capture.url == rain
        assert store.page_outcomes(rain) == ["full text", "full text"]
        (outcome,) = store.page_outcomes(empty)
        assert outcome.startswith("no article found")
        health = store.health.get("daily", "extraction_failed")
        assert health is not None and health.last_good is not None and health.last_bad is not None
    finally:
        store.close()
