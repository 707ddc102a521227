"""Extraction health against the loopback server: a site rule that stops matching, a source
whose pages hold no article, a silent feed; reported by `status`, `sources list`, the app's
/status page and the log."""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from newsvault.archive import Archive
from newsvault.cli import app
from newsvault.errors import NoArticle
from newsvault.extract import RuleSet, extract
from newsvault.loopback import LoopbackServer, Route
from newsvault.models import to_ms
from newsvault.watch.health import log_problems, note_page, note_poll, problems

from .conftest import archive_sql, make_archive
from .feedgen import rss
from .test_cli import cli, runner

HTML = {"Content-Type": "text/html; charset=utf-8"}
RSS = {"Content-Type": "application/rss+xml"}
DAY = 86_400_000
RULE = """name = "Loopback Daily"
slug = "loop"
hosts = ["127.0.0.1"]
title = ["h1.headline"]
body = ["div.story"]
"""


def page(n: int, container: str = "story") -> bytes:
    paragraphs = "".join(
        f"<p>Report {n}.{k}: the river rose by {k} metres overnight at the northern dam, and "
        f"the town of district {n} moved {k * 100} families to the school on the hill.</p>"
        for k in range(1, 6)
    )
    return (
        f"<html><head><title>Flood {n} | Daily</title></head><body><nav>Home News</nav>"
        f'<h1 class="headline">Flood {n}</h1><div class="{container}">{paragraphs}</div>'
        "<footer>Copyright Daily</footer></body></html>"
    ).encode()


def feed(server: LoopbackServer, numbers: range | list[int]) -> bytes:
    """A summary-only feed: each item's article is fetched from its page."""
    items = "".join(
        f"<item><title>Flood {n}</title><link>{escape(server.url(f'/news/{n}.html'))}</link>"
        f"<guid>flood-{n}</guid><description>The river rose.</description></item>"
        for n in reversed(list(numbers))
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Daily</title>'
        f"{items}</channel></rss>"
    ).encode()


def wide(*args: str) -> str:
    """A command's output on a terminal wide enough for its table's rows to stay whole."""
    result = runner.invoke(app, list(args), env={"COLUMNS": "400"})
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def status(root: Path) -> dict:
    return json.loads(cli("-a", str(root), "status", "--json").output)


def listed(root: Path, slug: str) -> dict:
    rows = json.loads(cli("-a", str(root), "sources", "list", "--json").output)
    return next(row for row in rows if row["slug"] == slug)


def test_extraction_says_which_rule_applied_and_whether_it_missed(tmp_path: Path) -> None:
    (tmp_path / "loop.toml").write_text(RULE, encoding="utf-8")
    rules = RuleSet.load(tmp_path)
    url = "http://127.0.0.1:8000/news/1.html"
    hit = extract(page(1), url, "text/html", rules=rules)
    assert (hit.rule, hit.rule_missed) == ("loop.toml", False)
    missed = extract(page(1, container="content"), url, "text/html", rules=rules)
    assert (missed.rule, missed.rule_missed) == ("loop.toml", True)
    assert "northern dam" in missed.text  # the generic extractor found it instead
    assert missed.to_json()["rule_missed"] is True
    generic = extract(page(1), "https://elsewhere.example/1.html", "text/html", rules=rules)
    assert (generic.rule, generic.rule_missed) == (None, False)


def test_a_site_rule_that_stops_matching_is_reported(
    tmp_path: Path, server: LoopbackServer
) -> None:
    root = make_archive(tmp_path / "news", [("daily", "Daily", server.url("/feed.xml"))]).root
    (root / "rules").mkdir()
    (root / "rules" / "loop.toml").write_text(RULE, encoding="utf-8")
    for n in range(2):
        server.set(f"/news/{n}.html", Route(page(n), headers=HTML))
    server.set("/feed.xml", Route(feed(server, range(2)), headers=RSS))
    cli("-a", str(root), "run")
    assert status(root)["problems"] == [] and listed(root, "daily")["health"] == []
    # The site renames its article container: each run brings one page the rule misses.
    for n in range(2, 5):
        server.set(f"/news/{n}.html", Route(page(n, container="content"), headers=HTML))
        server.set("/feed.xml", Route(feed(server, range(n + 1)), headers=RSS))
        cli("-a", str(root), "run")
        if n < 4:  # one and two misses: under watch.health_misses (3)
            assert status(root)["problems"] == [], n
    (problem,) = status(root)["problems"]
    assert problem["source"] == "daily" and problem["check"] == "rule_missed"
    assert problem["count"] == 3 and problem["detail"] == "loop.toml"
    assert "site rule loop.toml missed on 3 pages in a row since " in problem["message"]
    assert "changed its layout" in problem["message"]
    assert listed(root, "daily")["health"] == [problem]
    table = wide("-a", str(root), "sources", "list")
    assert "rule loop.toml missed 3× in a row" in table
    assert "site rule loop.toml missed" in wide("-a", str(root), "status")
    # the articles were archived all the same, by the generic extractor
    texts = [a["text"] for a in json.loads(cli("-a", str(root), "list", "--json").output)]
    assert len(texts) == 5 and all("northern dam" in t for t in texts)
    # The rule is fixed (or the site goes back): the next page it matches ends the count.
    server.set("/news/5.html", Route(page(5), headers=HTML))
    server.set("/feed.xml", Route(feed(server, range(6)), headers=RSS))
    cli("-a", str(root), "run")
    assert status(root)["problems"] == [] and listed(root, "daily")["health"] == []
    assert "extraction health: no problems" in wide("-a", str(root), "status")


def test_pages_archived_on_request_count_for_their_rule(
    tmp_path: Path, server: LoopbackServer
) -> None:
    root = make_archive(tmp_path / "news", []).root
    (root / "rules").mkdir()
    (root / "rules" / "loop.toml").write_text(RULE, encoding="utf-8")
    urls = []
    for n in range(3):
        server.set(f"/news/{n}.html", Route(page(n, container="content"), headers=HTML))
        urls.append(server.url(f"/news/{n}.html"))
    cli("-a", str(root), "archive", *urls[:2])
    assert status(root)["problems"] == []
    cli("-a", str(root), "archive", urls[2])
    (problem,) = status(root)["problems"]
    assert (problem["source"], problem["check"], problem["count"]) == ("loop", "rule_missed", 3)


def test_a_source_whose_pages_hold_no_article_is_reported(
    tmp_path: Path, server: LoopbackServer
) -> None:
    root = make_archive(tmp_path / "news", [("empty", "Empty", server.url("/feed.xml"))]).root
    for n in range(5):
        server.set(
            f"/news/{n}.html", Route(b"<html><body><p>Sorry.</p></body></html>", headers=HTML)
        )
    server.set("/feed.xml", Route(feed(server, range(4)), headers=RSS))
    cli("-a", str(root), "run")
    assert status(root)["problems"] == []  # four pages: under watch.health_failures (5)
    server.set("/feed.xml", Route(feed(server, range(5)), headers=RSS))
    cli("-a", str(root), "run")
    (problem,) = status(root)["problems"]
    assert (problem["source"], problem["check"], problem["count"]) == (
        "empty", "extraction_failed", 5,
    )  # fmt: skip
    assert "no article extracted from 5 pages in a row" in problem["message"]
    assert problem["detail"].startswith("no article found: ")
    health = listed(root, "empty")["health"]
    assert [p["check"] for p in health] == ["extraction_failed"]
    assert "no article 5× in a row" in wide("-a", str(root), "sources", "list")
    # A lower threshold in newsvault.toml reports it sooner; one extracted page ends it.
    config = root / "newsvault.toml"
    config.write_text(config.read_text() + "\n[watch]\nhealth_failures = 2\n")
    server.set("/news/5.html", Route(page(5), headers=HTML))
    server.set("/feed.xml", Route(feed(server, range(6)), headers=RSS))
    cli("-a", str(root), "run")
    assert status(root)["problems"] == []


def test_a_silent_feed_is_reported(tmp_path: Path, server: LoopbackServer) -> None:
    base = server.url("")
    server.set("/feed.xml", Route(rss("quiet", 2, base=base), headers=RSS, etag='"v1"'))
    root = make_archive(tmp_path / "news", [("quiet", "Quiet", server.url("/feed.xml"))]).root
    cli("-a", str(root), "run")
    cli("-a", str(root), "run")  # the feed answers "not modified": nothing new
    assert status(root)["problems"] == []  # silent for seconds, not watch.silent_after (3d)
    # Four days pass (the stored times are moved back instead).
    archive_sql(
        root,
        "UPDATE health SET last_good = last_good - :d, since = since - :d, "
        "last_bad = last_bad - :d",
        {"d": 4 * DAY},
    )
    (problem,) = status(root)["problems"]
    assert (problem["source"], problem["check"], problem["count"]) == ("quiet", "silent_feed", 1)
    assert "brought no new item for 4 days" in problem["message"]
    assert "no new item since" in wide("-a", str(root), "sources", "list")
    # A feed that fails is not silent: it is reported as failing, and counts nothing here.
    server.set("/feed.xml", Route(b"down", status=500))
    cli("-a", str(root), "run", code=1)
    assert status(root)["problems"][0]["count"] == 1
    server.set("/feed.xml", Route(rss("quiet", 3, base=base), headers=RSS))
    cli("-a", str(root), "run")  # a new item
    assert status(root)["problems"] == []


def test_the_app_status_page_lists_problems_jobs_and_failing_jobs(tmp_path: Path) -> None:
    from .test_web import serving

    root = make_archive(tmp_path / "news", []).root
    archive = Archive(root)
    store = archive.store()
    now = to_ms(time.time())
    for n in range(5):
        note_page(store, "empty", NoArticle("no article text <b>here</b>"), now=now - DAY + n)
    hostile = "https://x.example/<script>alert(1)</script>"
    store.jobs.enqueue("page", hostile, now - 1, now=now - 1)
    store.jobs.enqueue("poll", "later", now + DAY, now=now)
    (job,) = store.jobs.claim("test", now=now, lease_ms=60_000, limit=1, kinds=["page"])
    store.jobs.fail(job, '<img src=x onerror="alert(2)">', retry_at=now + 60_000)
    store.close()
    with serving(root) as base, urllib.request.urlopen(base + "/status", timeout=20) as response:
        assert response.status == 200
        html = response.read().decode()
    assert "no article extracted from 5 pages in a row" in html
    assert "&lt;b&gt;here&lt;/b&gt;" in html and "<b>here" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert "&lt;img src=x onerror=" in html and "<img src=x" not in html
    assert "<td>page</td>" in html and "<td>poll</td>" in html


def test_note_helpers_and_log_lines(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    archive = make_archive(tmp_path / "news", [])
    store = archive.store()
    settings = archive.settings
    found = extract(page(1, container="content"), "http://127.0.0.1/1.html", rules=_rules(tmp_path))
    for n in range(3):
        note_page(store, "loop", found, now=1_000 + n)
    note_poll(store, "quiet", 2, True, 0)
    note_poll(store, "quiet", 0, True, 10)
    note_poll(store, "quiet", 0, False, 20)  # a failed poll: nothing
    assert store.health.get("quiet", "silent_feed").bad == 1
    assert [p.check for p in problems(store, settings, now=2 * DAY)] == ["rule_missed"]
    later = 4 * DAY
    assert [p.check for p in problems(store, settings, now=later)] == ["silent_feed", "rule_missed"]
    logged: set[tuple[str, str]] = set()
    with caplog.at_level(logging.WARNING, logger="newsvault.watch.health"):
        log_problems(store, settings, now=later, logged=logged)
        log_problems(store, settings, now=later, logged=logged)  # nothing new: nothing logged
        note_poll(store, "quiet", 1, True, later)
        log_problems(store, settings, now=later, logged=logged)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3, lines
    assert lines[0].startswith("quiet: the feed answered but brought no new item for 4 days")
    assert lines[1].startswith("loop: site rule loop.toml missed on 3 pages in a row")
    assert lines[2] == "quiet: silent feed is over"
    assert logged == {("loop", "rule_missed")}
    store.close()


def _rules(folder: Path) -> RuleSet:
    (folder / "loop.toml").write_text(RULE, encoding="utf-8")
    return RuleSet.load(folder)
