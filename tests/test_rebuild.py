"""`rebuild`: the database made again from captures/ alone is the one it replaces, table by
table: articles (numbers included), versions and stories; on SQLite (files beside
newsvault.db) and on PostgreSQL (databases beside the archive's) alike."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
from collections.abc import Iterator
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from newsvault.archive import Archive
from newsvault.errors import NewsvaultError
from newsvault.loopback import LoopbackServer, Route
from newsvault.rebuild import BACKUP, BACKUP_SUFFIX, REBUILT, REBUILT_SUFFIX, rebuild
from newsvault.store import Store, admin

from .conftest import PG_SERVER, POSTGRES, TEST_DATABASE, make_archive
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


@pytest.fixture(autouse=True)
def _drop_rebuilt_databases() -> Iterator[None]:
    """Under the suite on PostgreSQL: the _rebuilt and _before_rebuild databases made beside
    this process's test databases are dropped after each test."""
    yield
    if TEST_DATABASE != "postgresql":
        return
    import psycopg

    pattern = f"^newsvault_test_{os.getpid()}_.*({REBUILT_SUFFIX}|{BACKUP_SUFFIX})$"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        query = "SELECT datname FROM pg_database WHERE datname ~ %s"
        for (name,) in conn.execute(query, (pattern,)).fetchall():
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def on_postgres() -> Iterator[str]:
    """The URL of a database of this test's own on 127.0.0.1:5432, on either run of the suite
    (a test of what only PostgreSQL has); it and the ones rebuild makes beside it dropped at
    the end."""
    import psycopg

    name = f"newsvault_test_{os.getpid()}_rebuild"
    names = [name, name + REBUILT_SUFFIX, name + BACKUP_SUFFIX]
    try:
        conn = psycopg.connect(POSTGRES, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at 127.0.0.1:5432: {exc}".splitlines()[0])
    with conn:
        for each in names:
            conn.execute(f"DROP DATABASE IF EXISTS {each} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
        try:
            yield PG_SERVER + name
        finally:
            for each in names:
                conn.execute(f"DROP DATABASE IF EXISTS {each} WITH (FORCE)")


def where(root: Path, which: str = "current") -> Path | str:
    """The archive's database (current), the rebuilt one or the one kept (backup): a file
    beside newsvault.toml on SQLite, a database's URL on PostgreSQL."""
    url = Archive(root).settings["database"]
    if not url:
        return root / {"current": "newsvault.db", "rebuilt": REBUILT, "backup": BACKUP}[which]
    suffix = {"current": "", "rebuilt": REBUILT_SUFFIX, "backup": BACKUP_SUFFIX}[which]
    return admin.sibling(url, suffix) if suffix else url


def present(database: Path | str) -> bool:
    if isinstance(database, Path):
        return database.is_file()
    import psycopg

    with psycopg.connect(POSTGRES) as conn:
        query = "SELECT 1 FROM pg_database WHERE datname = %s"
        return conn.execute(query, (admin.database_name(database),)).fetchone() is not None


def store_of(database: Path | str) -> Store:
    assert present(database), database
    return Store.open(database) if isinstance(database, Path) else Store(database)


def tables(database: Path | str) -> dict[str, list[Any]]:
    store = store_of(database)
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
    before = tables(where(root))
    assert len(before["articles"]) == 9 and len(before["versions"]) == 2
    assert before["stories"] and any(row[18] for row in before["articles"])  # a copy found

    done = json.loads(cli(*a, "rebuild", "--json").stdout)
    assert done["articles"] == 9 and done["versions"] == 2 and not done["replaced"]
    assert done["path"] == str(where(root, "rebuilt"))
    rebuilt = tables(where(root, "rebuilt"))
    for name in TABLES:
        assert rebuilt[name] == before[name], name

    again = json.loads(cli(*a, "rebuild", "--replace", "--json").stdout)
    assert again["replaced"] and present(where(root, "backup"))
    assert again["path"] == str(where(root)) and again["backup"] == str(where(root, "backup"))
    assert not present(where(root, "rebuilt"))
    assert tables(where(root)) == before
    assert tables(where(root, "backup")) == before
    listed = json.loads(cli(*a, "list", "--json").stdout)
    assert len(listed) == 9
    titles = {item["title"] for item in listed}
    assert {"平壤会谈", "普京抵达平壤", "Asked for", "Schools close"} <= titles


def test_rebuild_of_an_archive_without_captures_is_empty(tmp_path: Path) -> None:
    root = make_archive(tmp_path / "news", []).root
    done = json.loads(cli("-a", str(root), "rebuild", "--json").stdout)
    assert done["records"] == 0 and done["articles"] == 0
    assert tables(where(root, "rebuilt")) == {name: [] for name in TABLES}


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
    cli("-a", str(root), "run")
    items[0] = ("a1", "平壤会谈（更新）", long(STORY + "双方还讨论了经济合作。"), 10)
    items.append(("a3", "Bridge reopens", long("The river bridge reopened."), 30))
    server.set("/a.xml", Route(feed(base, items), headers=RSS))
    cli("-a", str(root), "run")
    before = tables(where(root))
    for path in (root / "captures").glob("*.warc.gz"):
        _strip_own_headers(path)
    cli("-a", str(root), "rebuild")
    rebuilt = tables(where(root, "rebuilt"))
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


class Killed(Exception):
    pass


def _two_runs(root: Path, server: LoopbackServer) -> None:
    base = server.base_url
    items = [("a1", "平壤会谈", long(STORY), 10), ("a2", "Markets", long("Stocks closed."), 20)]
    server.set("/a.xml", Route(feed(base, items), headers=RSS))
    cli("-a", str(root), "run")
    items.append(("a3", "Bridge reopens", long("The river bridge reopened."), 30))
    server.set("/a.xml", Route(feed(base, items), headers=RSS))
    cli("-a", str(root), "run")


def test_a_rebuild_killed_half_way_is_started_over(tmp_path: Path, server: LoopbackServer) -> None:
    root = make_archive(tmp_path / "news", [("a", "A", server.url("/a.xml"))]).root
    _two_runs(root, server)
    before = tables(where(root))

    def kill(done: int, total: int) -> None:
        if done >= 1:
            raise Killed

    with pytest.raises(Killed):
        rebuild(Archive(root), on_progress=kill)
    left = store_of(where(root, "rebuilt"))
    try:
        left.ensure_source("leftover", "What a killed rebuild left")
    finally:
        left.close()
    half = tables(where(root, "rebuilt"))
    assert len(half["articles"]) < len(before["articles"]) and half["sources"] != before["sources"]

    cli("-a", str(root), "rebuild")
    assert tables(where(root, "rebuilt")) == before
    assert tables(where(root)) == before


def test_replace_with_another_session_connected_fails_in_one_line(
    tmp_path: Path, server: LoopbackServer, on_postgres: str
) -> None:
    import psycopg

    root = make_archive(
        tmp_path / "news", [("a", "A", server.url("/a.xml"))], database=on_postgres
    ).root
    _two_runs(root, server)
    before = tables(on_postgres)
    with psycopg.connect(on_postgres):  # `watch`, say
        refused = cli("-a", str(root), "rebuild", "--replace", code=2)
        assert len(refused.stderr.splitlines()) == 1, refused.stderr
        assert "1 other session is connected" in refused.stderr
        assert "stop `watch`, `serve` and workers first" in refused.stderr
        assert not present(where(root, "rebuilt"))  # refused before the replay
        # the rebuilt database ready, a backup from before: refused as it is swapped in, the
        # backup not dropped
        cli("-a", str(root), "rebuild")
        kept = admin.sibling(on_postgres, BACKUP_SUFFIX)
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {admin.database_name(kept)}")
        with pytest.raises(NewsvaultError, match="1 other session is connected") as raised:
            admin.swap_in(on_postgres, str(where(root, "rebuilt")), kept)
        assert "\n" not in str(raised.value)
    assert tables(on_postgres) == before and present(kept) and present(where(root, "rebuilt"))
    assert tables(kept)["sources"] == []  # the earlier backup, still empty


def test_a_swap_that_fails_half_way_renames_nothing(
    tmp_path: Path, server: LoopbackServer, on_postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second rename fails (a session on the rebuilt database, let through the check):
    the first one is undone with it, the archive's database is where it was."""
    import psycopg

    root = make_archive(
        tmp_path / "news", [("a", "A", server.url("/a.xml"))], database=on_postgres
    ).root
    _two_runs(root, server)
    before = tables(on_postgres)
    cli("-a", str(root), "rebuild")
    rebuilt, kept = str(where(root, "rebuilt")), admin.sibling(on_postgres, BACKUP_SUFFIX)
    monkeypatch.setattr(admin, "_refuse_if_connected", lambda *_: None)
    with psycopg.connect(rebuilt):
        with pytest.raises(NewsvaultError, match="another session is connected") as raised:
            admin.swap_in(on_postgres, rebuilt, kept)
        assert "\n" not in str(raised.value)
    assert tables(on_postgres) == before and not present(kept) and present(rebuilt)
    monkeypatch.undo()
    done = json.loads(cli("-a", str(root), "rebuild", "--replace", "--json").stdout)
    assert done["replaced"] and tables(on_postgres) == before and tables(kept) == before
    assert not present(rebuilt)


def test_the_output_names_no_password() -> None:
    url = "postgresql://news:s3cret@db.example.com:5433/archive?sslmode=require"
    assert admin.shown(url) == "postgresql://news@db.example.com:5433/archive?sslmode=require"
    assert admin.sibling(url, REBUILT_SUFFIX) == url.replace("/archive?", "/archive_rebuilt?")
    with pytest.raises(NewsvaultError, match="too long"):  # cut to 63 bytes: the archive's own
        admin.sibling("postgresql://news@db/" + "n" * 60, BACKUP_SUFFIX)
