"""The command line end to end, against feeds served from a loopback server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsvault.archive import Archive
from newsvault.captures import read_capture
from newsvault.cli import app
from newsvault.loopback import LoopbackServer, Route

from .conftest import TEST_DATABASE, make_archive
from .feedgen import rss

runner = CliRunner()


def cli(*args: str, code: int = 0):
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    return result


def test_init_creates_an_archive_with_the_default_sources(tmp_path: Path) -> None:
    cli("init", str(tmp_path / "news"))
    root = tmp_path / "news"
    database = ("newsvault.db",) if TEST_DATABASE == "sqlite" else ()
    for name in ("newsvault.toml", *database, "captures", "articles", "lists", "media"):
        assert (root / name).exists(), name
    slugs = [s.slug for s in Archive(root).sources()]
    assert slugs == ["voa", "rfa", "bbc", "nytimes", "dw", "rfi", "cdt"]
    again = cli("init", str(root), code=2)
    assert "already an archive" in again.stderr


def test_no_archive_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEWSVAULT_ARCHIVE", raising=False)
    result = cli("list", code=2)
    assert result.stderr.count("\n") == 1 and "newsvault init" in result.stderr
    assert "Traceback" not in result.output


def test_archive_found_from_env_and_parents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("init", str(tmp_path / "news"))
    (tmp_path / "news" / "articles" / "deep").mkdir()
    monkeypatch.chdir(tmp_path / "news" / "articles" / "deep")
    assert "voa" in cli("sources", "list").output
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSVAULT_ARCHIVE", str(tmp_path / "news"))
    assert "voa" in cli("sources", "list").output


def test_sources_add_list_remove_export_import(tmp_path: Path) -> None:
    root = tmp_path / "news"
    cli("init", str(root))
    a = ("-a", str(root))
    add = (*a, "sources", "add", "--no-check")  # no internet: not fetched
    cli(*add, "https://feeds.example.org/world.xml", "--name", "世界")
    cli(*add, "https://x.example.net/rss", "--name", "X", "--slug", "xx")
    listed = json.loads(cli(*a, "sources", "list", "--json").output)
    assert [s["slug"] for s in listed][-2:] == ["example", "xx"]
    dup = cli(*a, "sources", "add", "https://x.example.net/rss", "--name", "X", code=2)
    assert "already followed" in dup.stderr
    bad = cli(*a, "sources", "add", "ftp://x", "--name", "X", code=2)
    assert "http://" in bad.stderr
    cli(*a, "sources", "remove", "xx")
    assert "xx" not in cli(*a, "sources", "list").output
    cli(*a, "sources", "remove", "nope", code=2)
    opml = cli(*a, "sources", "export").output
    assert opml.startswith("<?xml") and "世界" in opml
    other = tmp_path / "other"
    cli("init", str(other))
    for slug in ("voa", "rfa", "bbc", "nytimes", "dw", "rfi", "cdt"):
        cli("-a", str(other), "sources", "remove", slug)
    (tmp_path / "s.opml").write_text(opml, encoding="utf-8")
    cli("-a", str(other), "sources", "import", str(tmp_path / "s.opml"))
    assert [s.slug for s in Archive(other).sources()] == [s.slug for s in Archive(root).sources()]
    (tmp_path / "bad.opml").write_text("<html>", encoding="utf-8")
    assert (
        "not valid OPML"
        in cli("-a", str(other), "sources", "import", str(tmp_path / "bad.opml"), code=2).stderr
    )


def serve_feeds(server: LoopbackServer, names: dict[str, int]) -> list[tuple[str, str, str]]:
    sources = []
    for name, count in names.items():
        server.set(
            f"/{name}.xml", Route(rss(name, count, base=server.base_url), etag=f'"{name}-{count}"')
        )
        sources.append((name, f"{name.upper()} 新闻", server.url(f"/{name}.xml")))
    return sources


def test_run_archives_then_archives_nothing_twice(tmp_path: Path, server: LoopbackServer) -> None:
    archive = make_archive(tmp_path / "news", serve_feeds(server, {"alpha": 3, "beta": 2}))
    a = ("-a", str(archive.root))
    first = cli(*a, "run")
    assert "5 new articles from 2 of 2 sources" in first.output
    files = sorted(
        p.relative_to(archive.root).as_posix() for p in archive.articles_dir.rglob("*.md")
    )
    assert files == [
        "articles/alpha/1048572.md", "articles/alpha/1048573.md", "articles/alpha/1048574.md",
        "articles/beta/1048573.md", "articles/beta/1048574.md",
    ]  # fmt: skip
    # The oldest item got the first number, so a sorted listing shows the newest first.
    newest = (archive.articles_dir / "alpha" / "1048572.md").read_text(encoding="utf-8")
    assert newest.startswith("<!--1718804484000-->\n[alpha 新闻 2](")
    assert newest.endswith(
        '</p><p>俄罗斯总统普京周三抵达平壤。<img src="'
        + server.base_url
        + '/img/2.jpg" alt="图2"></p>\n'
    )
    alpha_list = (archive.lists_dir / "alpha.md").read_text(encoding="utf-8")
    assert alpha_list.startswith(
        "ALPHA 新闻\n------\n\n6-19 [alpha 新闻 2](/articles/alpha/1048572.md)\n\n"
    )
    second = cli(*a, "run")
    assert "0 new articles" in second.output and "not modified" in second.output
    assert server.requests[-1].headers.get("If-None-Match", "").startswith('"')
    # A server without conditional GET: the same bytes again add no article and no capture.
    warc_size = sum(p.stat().st_size for p in archive.captures_dir.iterdir())
    server.set("/alpha.xml", Route(rss("alpha", 3, base=server.base_url)))
    third = cli(*a, "run", "--source", "alpha")
    assert "0 new articles" in third.output
    assert sum(p.stat().st_size for p in archive.captures_dir.iterdir()) == warc_size
    # New items arrive: they continue the countdown.
    server.set("/alpha.xml", Route(rss("alpha", 5, base=server.base_url)))
    assert "2 new articles" in cli(*a, "run", "-s", "alpha").output
    assert (archive.articles_dir / "alpha" / "1048570.md").exists()


def test_list_and_show(tmp_path: Path, server: LoopbackServer) -> None:
    archive = make_archive(tmp_path / "news", serve_feeds(server, {"alpha": 3}))
    a = ("-a", str(archive.root))
    cli(*a, "run")
    listed = json.loads(cli(*a, "list", "--json").output)
    assert len(listed) == 3 and listed[0]["title"] == "alpha 新闻 2"
    assert len(json.loads(cli(*a, "list", "--json", "--limit", "2").output)) == 2
    article = json.loads(cli(*a, "show", str(listed[0]["id"])).output)
    for field in (
        "id",
        "source",
        "url",
        "title",
        "author",
        "published",
        "fetched",
        "text",
        "html",
        "images",
        "origin",
        "lang",
    ):
        assert field in article, field
    assert article["source"] == "alpha" and article["lang"] == "zh-Hans"
    assert article["published"] == "2024-06-19T21:41:24+08:00"  # UTC+8, as the site
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", article["fetched"])
    assert article["images"] == [{"src": server.base_url + "/img/2.jpg", "caption": "图2"}]
    assert "俄罗斯总统普京" in article["text"]
    md = cli(*a, "show", "alpha/1048572", "--format", "md").output
    assert md == (archive.articles_dir / "alpha" / "1048572.md").read_text(encoding="utf-8")
    assert "no article '999'" in cli(*a, "show", "999", code=2).stderr
    assert "use json or md" in cli(*a, "show", "1", "--format", "xml", code=2).stderr
    table = cli(*a, "list", "--source", "alpha").output
    assert "alpha 新闻 0" in table


def test_captures_keep_the_raw_response(tmp_path: Path, server: LoopbackServer) -> None:
    body = rss("gz", 2, base=server.base_url)
    server.set(
        "/gz.xml", Route(body, encoding="gzip", headers={"Content-Type": "application/rss+xml"})
    )
    archive = make_archive(tmp_path / "news", [("gz", "GZ", server.url("/gz.xml"))])
    cli("-a", str(archive.root), "run")
    store = archive.store()
    (article,) = list(store.articles("gz", limit=1))
    capture = store.capture(article.capture_id or 0)
    assert capture.url == server.url("/gz.xml") and capture.status == 200
    status, headers, payload = read_capture(
        archive.captures_dir, capture.warc_file, capture.warc_offset
    )
    assert status == 200 and payload == body
    assert ("Content-Encoding", "gzip") in headers


def test_failing_sources_are_reported_and_do_not_stop_the_others(
    tmp_path: Path, server: LoopbackServer
) -> None:
    good = serve_feeds(server, {"good": 2})
    server.set("/missing.xml", Route(b"no", status=404))
    server.set("/page.xml", Route(b"<!doctype html><html><body>hi</body></html>"))
    server.set("/empty.xml", Route(b""))
    server.set("/cut.xml", Route(b'<?xml version="1.0"?><rss><channel><title>x'))
    server.set("/binary.xml", Route(bytes(range(256)) * 4))
    server.set("/slow.xml", Route(b"<rss/>", delay=5))
    server.set("/error.xml", Route(b"oops", status=500))
    bad = [
        ("missing", "M", server.url("/missing.xml")),
        ("page", "P", server.url("/page.xml")),
        ("empty", "E", server.url("/empty.xml")),
        ("cut", "C", server.url("/cut.xml")),
        ("binary", "B", server.url("/binary.xml")),
        ("slow", "S", server.url("/slow.xml")),
        ("error", "R", server.url("/error.xml")),
    ]
    archive = make_archive(tmp_path / "news", good + bad, timeout=0.5)
    result = cli("-a", str(archive.root), "run", code=1)
    assert "2 new articles from 1 of 8 sources" in result.output
    states = {
        s["slug"]: s
        for s in json.loads(cli("-a", str(archive.root), "sources", "list", "--json").output)
    }
    expected = {
        "missing": "HTTP 404",
        "page": "an HTML page, not a feed",
        "empty": "empty response",
        "cut": "truncated XML",
        "binary": "not a readable feed",
        "slow": "no complete response within 0.5s",
        "error": "HTTP 500",
    }
    for slug, reason in expected.items():
        assert reason in (states[slug]["last_error"] or ""), (slug, states[slug]["last_error"])
        assert states[slug]["failures"] == 1 and "\n" not in states[slug]["last_error"]
    assert states["good"]["last_error"] is None and states["good"]["articles"] == 2
    cli("-a", str(archive.root), "run", "-s", "missing", code=1)
    again = json.loads(cli("-a", str(archive.root), "sources", "list", "--json").output)
    assert next(s for s in again if s["slug"] == "missing")["failures"] == 2


def test_private_addresses_are_refused_by_default(tmp_path: Path, server: LoopbackServer) -> None:
    sources = serve_feeds(server, {"local": 1})
    archive = make_archive(tmp_path / "news", sources, allow_private_networks=False)
    result = cli("-a", str(archive.root), "run", code=1)
    assert "private address" in result.output
    assert server.hits("/local.xml") == 0


def test_chinese_charsets_from_the_header(tmp_path: Path, server: LoopbackServer) -> None:
    body = rss("gbk", 1, base=server.base_url, encoding="gbk").replace(b' encoding="gbk"', b"")
    server.set(
        "/gbk.xml", Route(body, headers={"Content-Type": "application/rss+xml; charset=GB2312"})
    )
    archive = make_archive(tmp_path / "news", [("gbk", "GBK", server.url("/gbk.xml"))])
    cli("-a", str(archive.root), "run")
    (article,) = list(archive.store().articles("gbk"))
    assert article.title == "gbk 新闻 0" and "普京" in article.text


def test_import_markdown_then_publish(tmp_path: Path) -> None:
    from .test_markdown import seeded_archive

    old = seeded_archive(tmp_path)
    cli("init", str(tmp_path / "news"))
    a = ("-a", str(tmp_path / "news"))
    first = cli(*a, "import-markdown", str(old)).stdout
    assert first.endswith("imported\talready there\tunreadable\n1\t0\t0\n")
    again = cli(*a, "import-markdown", str(old)).stdout
    assert again.endswith("imported\talready there\tunreadable\n0\t1\t0\n")
    cli(*a, "publish", "markdown")
    for relative in ("articles/voa/1048574.md", "lists/voa.md"):
        assert (tmp_path / "news" / relative).read_bytes() == (old / relative).read_bytes()
    missing = cli(*a, "import-markdown", str(tmp_path / "nowhere"), code=2)
    assert "no articles/ folder" in missing.stderr


def test_a_second_publisher_waits_then_is_refused(tmp_path: Path, monkeypatch) -> None:
    cli("init", str(tmp_path / "news"))
    archive = Archive(tmp_path / "news")
    monkeypatch.setattr("newsvault.archive.LOCK_WAIT", 0.3)
    with archive.lock("publish"):
        result = cli("-a", str(archive.root), "publish", "markdown", code=2)
    assert "another newsvault process has been busy with publish" in result.stderr
    cli("-a", str(archive.root), "publish", "markdown")  # once it is free, it goes on
