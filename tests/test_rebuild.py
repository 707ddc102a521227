"""`rebuild`: the database made again from captures/ alone is the one it replaces, table by
table: articles (numbers included), versions and stories."""

from __future__ import annotations

import datetime as dt
import io
import json
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from newsvault.archive import Archive
from newsvault.loopback import LoopbackServer, Route
from newsvault.store import Store

from .conftest import make_archive
from .test_cli import cli
from .test_import_warc import WarcFile, article

RSS = {"Content-Type": "application/rss+xml"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
START = dt.datetime(2025, 5, 1, 8, 0, tzinfo=dt.UTC)
STORY = "俄罗斯总统普京周三抵达平壤，与朝鲜领导人金正恩举行会谈，双方签署了全面战略伙伴关系条约。"


def feed(base: str, items: list[tuple[str, str, str, int]]) -> bytes:
    """RSS of (guid, title, content, minutes after START) items linking to base/<guid>.html;
    an item with no content is a summary only (its page is fetched for the text)."""
    body = "".join(
        f"<item><guid>{guid}</guid><title>{title}</title><link>{base}/{guid}.html</link>"
        f"<pubDate>{format_datetime(START + dt.timedelta(minutes=minute), usegmt=True)}</pubDate>"
        + (f"<description><![CDATA[{content}]]></description>" if content else "")
        + "</item>"
        for guid, title, content, minute in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>F</title>'
        f"<link>{base}/</link>{body}</channel></rss>"
    ).encode()


def long(text_: str, times: int = 12) -> str:
    return "".join(f"<p>{text_}（{n}）</p>" for n in range(times))


def page(title: str, body: str) -> bytes:
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{body}"
        "</article></body></html>"
    ).encode()


TABLES = {
    "articles": """SELECT s.slug, a.number, a.key, a.url, a.title, a.author, a.origin, a.lang,
        a.published, a.fetched, a.html, a.text, a.images, a.content_hash, a.feed_hash,
        a.removed, c.warc_file, c.warc_offset, o.number AS copy_of,
        f.number AS story_first
        FROM articles a JOIN sources s ON s.id = a.source_id
        LEFT JOIN captures c ON c.id = a.capture_id
        LEFT JOIN articles o ON o.id = a.copy_of
        LEFT JOIN stories st ON st.id = a.story_id
        LEFT JOIN articles f ON f.id = st.first_article""",
    "versions": """SELECT s.slug, a.number, v.seen, v.title, v.html, v.content_hash,
        c.warc_file, c.warc_offset
        FROM versions v JOIN articles a ON a.id = v.article_id
        JOIN sources s ON s.id = a.source_id LEFT JOIN captures c ON c.id = v.capture_id""",
    "stories": """SELECT s.slug, a.number, st.title, st.first_seen, st.last_seen, st.size
        FROM stories st JOIN articles a ON a.id = st.first_article
        JOIN sources s ON s.id = a.source_id""",
    "captures": "SELECT url, status, content_type, digest, warc_file, warc_offset, "
    "warc_length, fetched FROM captures",
    "sources": "SELECT slug, name FROM sources",
}


def tables(database: Path) -> dict[str, list[Any]]:
    store = Store.open(database)
    try:
        with store.engine.connect() as conn:
            return {
                name: sorted(tuple(row) for row in conn.execute(text(query)))
                for name, query in TABLES.items()
            }
    finally:
        store.close()


def test_a_rebuilt_database_is_the_one_it_replaces(tmp_path: Path, server: LoopbackServer) -> None:
    base = server.base_url
    a_items = [
        ("a1", "平壤会谈", long(STORY), 10),
        ("a2", "Markets calm", long("Stocks closed flat on Tuesday after a quiet session."), 20),
    ]
    b_items = [("b1", "普京抵达平壤", "", 12), ("b2", "Rain at last", "", 25)]
    server.set("/a.xml", Route(feed(base, a_items), headers=RSS))
    server.set("/b.xml", Route(feed(base, b_items), headers=RSS, etag='"b1"'))
    server.set("/b1.html", Route(page("普京抵达平壤", long(STORY)), headers=HTML))
    server.set("/b2.html", Route(b"", status=404))  # a page that fails: summary kept
    server.set("/old.html", Route(b"", status=301, headers={"Location": "/asked.html"}))
    server.set(
        "/asked.html", Route(page("Asked for", long("A page a reader sent in.")), headers=HTML)
    )
    root = make_archive(
        tmp_path / "news", [("a", "A", server.url("/a.xml")), ("b", "B", server.url("/b.xml"))]
    ).root
    if Archive(root).settings["database"]:
        pytest.skip("rebuild writes a SQLite database; this run's archives are on PostgreSQL")
    a = ("-a", str(root))
    cli(*a, "run")
    cli(*a, "archive", server.url("/old.html"))
    # the next poll: a new item in each feed, an item of A edited
    a_items[0] = ("a1", "平壤会谈（更新）", long(STORY + "双方还讨论了经济合作。"), 10)
    a_items.append(("a3", "Bridge reopens", long("The river bridge reopened to traffic."), 30))
    # dated before the story it copies: a copy all the same, as it came after
    b_items.insert(0, ("b3", "Late edition", "", 5))
    server.set("/a.xml", Route(feed(base, a_items), headers=RSS))
    server.set("/b.xml", Route(feed(base, b_items), headers=RSS, etag='"b2"'))
    server.set("/b3.html", Route(page("Late edition", long(STORY)), headers=HTML))
    cli(*a, "run")
    cli(*a, "run")  # nothing changed: a 304 and a feed with the same bytes
    warc = WarcFile(tmp_path / "crawl.warc.gz")
    warc.response("https://news.example.com/x/1.html", article("Floods in the valley", 1))
    warc.response("https://news.example.com/x/2.html", article("Schools close", 2))
    warc.close()
    cli(*a, "import-warc", str(tmp_path / "crawl.warc.gz"), "--source", "b", "--jobs", "1")
    a_items[1] = ("a2", "Markets calm again", a_items[1][2], 20)
    server.set("/a.xml", Route(feed(base, a_items), headers=RSS))
    cli(*a, "run")
    before = tables(root / "newsvault.db")
    assert len(before["articles"]) == 9 and len(before["versions"]) == 2
    assert before["stories"] and any(row[18] for row in before["articles"])  # a copy found

    done = json.loads(cli(*a, "rebuild", "--json").stdout)
    assert done["articles"] == 9 and done["versions"] == 2 and not done["replaced"]
    rebuilt = tables(root / "newsvault.db.rebuilt")
    for name in TABLES:
        assert rebuilt[name] == before[name], name

    again = json.loads(cli(*a, "rebuild", "--replace", "--json").stdout)
    assert again["replaced"] and (root / "newsvault.db.before-rebuild").is_file()
    assert not (root / "newsvault.db.rebuilt").exists()
    assert tables(root / "newsvault.db") == before
    assert tables(root / "newsvault.db.before-rebuild") == before
    listed = json.loads(cli(*a, "list", "--json").stdout)
    assert len(listed) == 9
    titles = {item["title"] for item in listed}
    assert {"平壤会谈", "普京抵达平壤", "Asked for", "Schools close"} <= titles


def test_rebuild_of_an_archive_without_captures_is_empty(tmp_path: Path) -> None:
    root = make_archive(tmp_path / "news", []).root
    if Archive(root).settings["database"]:  # PostgreSQL: refused in one line
        refused = cli("-a", str(root), "rebuild", code=2)
        assert len(refused.stderr.splitlines()) == 1 and "PostgreSQL" in refused.stderr
        return
    done = json.loads(cli("-a", str(root), "rebuild", "--json").stdout)
    assert done["records"] == 0 and done["articles"] == 0
    assert (root / "newsvault.db.rebuilt").is_file()


def test_captures_written_before_their_own_headers_are_replayed_by_url(
    tmp_path: Path, server: LoopbackServer
) -> None:
    """Captures from before Newsvault-Role, -Source and -Batch: a feed is known by its URL
    among the sources followed, a file is taken as a run."""
    base = server.base_url
    items = [("a1", "平壤会谈", long(STORY), 10), ("a2", "Markets", "", 20)]
    server.set("/a.xml", Route(feed(base, items), headers=RSS))
    server.set("/a2.html", Route(page("Markets", long("Stocks closed flat.")), headers=HTML))
    root = make_archive(tmp_path / "news", [("a", "A", server.url("/a.xml"))]).root
    if Archive(root).settings["database"]:
        pytest.skip("rebuild writes a SQLite database; this run's archives are on PostgreSQL")
    cli("-a", str(root), "run")
    items[0] = ("a1", "平壤会谈（更新）", long(STORY + "双方还讨论了经济合作。"), 10)
    items.append(("a3", "Bridge reopens", long("The river bridge reopened."), 30))
    server.set("/a.xml", Route(feed(base, items), headers=RSS))
    cli("-a", str(root), "run")
    before = tables(root / "newsvault.db")
    for path in (root / "captures").glob("*.warc.gz"):
        _strip_own_headers(path)
    cli("-a", str(root), "rebuild")
    rebuilt = tables(root / "newsvault.db.rebuilt")
    for name, at in (("articles", 16), ("versions", 6)):  # the capture's file and offset
        # moved with the headers taken out
        assert [r[:at] + r[at + 2 :] for r in rebuilt[name]] == [
            r[:at] + r[at + 2 :] for r in before[name]
        ]
    assert rebuilt["stories"] == before["stories"]
    assert len(before["articles"]) == 3 and len(before["versions"]) == 1


def _strip_own_headers(path: Path) -> None:
    """The capture file as written before newsvault put headers of its own in it."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.warcwriter import WARCWriter

    kept = io.BytesIO()
    writer = WARCWriter(kept, gzip=True)
    with path.open("rb") as fh:
        for record in ArchiveIterator(fh):
            headers = record.rec_headers.headers
            headers[:] = [(k, v) for k, v in headers if not k.startswith("Newsvault-")]
            record.rec_headers.replace_header("Content-Length", None)
            writer.write_record(record)
    path.write_bytes(kept.getvalue())
