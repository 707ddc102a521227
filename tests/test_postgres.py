"""The core flows against PostgreSQL (the `database` setting): the session's database from
conftest's `postgres_url`, emptied before each test."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import inspect, select, text, update
from typer.testing import CliRunner

from newsvault.cli import app
from newsvault.errors import ArchiveError
from newsvault.loopback import LoopbackServer, Route
from newsvault.models import Article
from newsvault.settings import Settings
from newsvault.store import Store
from newsvault.store.schema import MIGRATIONS, articles, metadata
from newsvault.stories.process import DONE, process_pending
from newsvault.stories.search import search

from .conftest import make_archive
from .feedgen import rss

runner = CliRunner()
HTML = {"Content-Type": "text/html; charset=utf-8"}
RSS = {"Content-Type": "application/rss+xml"}
TEXT = "俄罗斯总统普京周三抵达平壤，与朝鲜领导人金正恩举行会谈，双方签署了条约。" * 8


def cli(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    return result.output


@pytest.fixture
def database(postgres_url: str) -> Iterator[str]:
    """The session's PostgreSQL database, with no tables: each test starts a new archive."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    yield postgres_url


def test_migrations_build_the_declared_tables_once_under_a_lock(database: str) -> None:
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            Store(database).close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]  # four migrate at once
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    store = Store(database)
    assert store.schema_version() == len(MIGRATIONS)
    found = inspect(store.engine)
    for table in metadata.tables.values():
        columns = [column["name"] for column in found.get_columns(table.name)]
        assert columns == [c.name for c in table.columns], table.name
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM schema_version")).scalar() == len(MIGRATIONS)
    store.close()


def test_a_version_seen_before_does_not_abort_the_feed(database: str) -> None:
    store = Store(database)
    source = store.ensure_source("s", "S")

    def item(key: str, html: str = "<p>x</p>") -> Article:
        return Article(
            source="s", key=key, url=f"https://e.com/{key}", title="t", html=html, text="x",
            published=1, fetched=2,
        )  # fmt: skip

    store.add_articles(source, [item("a")], None)
    # one transaction: the same edit twice (the second a version seen before), then a new item
    added = store.add_articles(
        source, [item("a", "<p>edited</p>"), item("a", "<p>edited</p>"), item("b")], None
    )
    assert [a.key for a in added.new] == ["b"] and added.edited == 1
    (first,) = [a for a in store.articles("s") if a.key == "a"]
    assert store.version_count(first.id or 0) == 1
    store.close()


def test_the_database_setting() -> None:
    assert Settings({}, environ={})["database"] == ""  # SQLite, newsvault.db
    url = "postgresql://u@h/n"
    assert Settings({"database": url}, environ={})["database"] == url
    from_env = Settings({"database": url}, environ={"NEWSVAULT_DATABASE": "postgres://x/y"})
    assert from_env["database"] == "postgres://x/y"
    with pytest.raises(ArchiveError, match="'mysql' is not a database"):
        Settings({"database": "mysql://u@h/n"}, environ={})


def _tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for folder in ("articles", "lists")
        for path in sorted((root / folder).rglob("*"))
        if path.is_file()
    }


def test_an_archive_on_postgresql_archives_nothing_twice(
    tmp_path: Path, server: LoopbackServer, database: str
) -> None:
    sources = []
    for name, count in {"alpha": 3, "beta": 2}.items():
        server.set(f"/{name}.xml", Route(rss(name, count, base=server.base_url)))
        sources.append((name, f"{name.upper()} 新闻", server.url(f"/{name}.xml")))
    archive = make_archive(tmp_path / "pg", sources, database=database)
    assert not archive.db_path.exists()  # the database is PostgreSQL's, not newsvault.db
    store = archive.store()
    assert store.engine.dialect.name == "postgresql"
    store.close()
    a = ("-a", str(archive.root))
    assert "5 new articles from 2 of 2 sources" in cli(*a, "run")
    assert "0 new articles" in cli(*a, "run")
    listed = json.loads(cli(*a, "list", "--json"))
    assert len(listed) == 5 and len({item["id"] for item in listed}) == 5
    shown = json.loads(cli(*a, "show", str(listed[0]["id"])))
    assert shown["title"] == listed[0]["title"]
    assert cli(*a, "show", f"alpha/{1048572}", "--format", "md").startswith("<!--")
    assert not archive.db_path.exists()

    # The same feeds archived into SQLite publish the same markdown, byte for byte.
    lite = make_archive(tmp_path / "lite", sources)
    cli("-a", str(lite.root), "run")
    cli("-a", str(lite.root), "publish", "markdown")
    cli(*a, "publish", "markdown")
    pg_tree, lite_tree = _tree(archive.root), _tree(lite.root)
    assert len([name for name in pg_tree if name.startswith("articles/")]) == 5
    assert pg_tree == lite_tree


def test_an_edited_item_is_one_version(
    tmp_path: Path, server: LoopbackServer, database: str
) -> None:
    def feed(summary: str) -> bytes:
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>F</title>'
            f"<link>https://f.example.com/</link><item><guid>b1</guid><title>会谈</title>"
            f"<link>{server.base_url}/b1.html</link><description>{summary}</description>"
            "</item></channel></rss>"
        ).encode()

    server.set("/f", Route(feed(TEXT), headers=RSS))
    root = make_archive(tmp_path / "pg", [("f", "F", server.url("/f"))], database=database).root
    cli("-a", str(root), "run")
    server.set("/f", Route(feed(TEXT.replace("周三", "周二", 1)), headers=RSS))
    cli("-a", str(root), "run")
    cli("-a", str(root), "run")  # the same edit again: a version seen before, no abort
    (article,) = json.loads(cli("-a", str(root), "list", "--json"))
    assert json.loads(cli("-a", str(root), "show", str(article["id"])))["versions"] == 1


def test_two_claimers_never_take_the_same_job(database: str) -> None:
    store = Store(database)
    queue = store.jobs
    queue.ensure("poll", [f"s{n:03}" for n in range(200)], due=0, now=0)
    taken: dict[str, list[str]] = {"a": [], "b": []}
    errors: list[BaseException] = []

    def work(owner: str) -> None:
        try:
            mine = Store(database)
            while jobs := mine.jobs.claim(owner, now=1, lease_ms=60_000, limit=3):
                for job in jobs:
                    assert mine.jobs.finish(job, now=2)
                    taken[owner].append(job.target)
            mine.close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(owner,)) for owner in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    everything = taken["a"] + taken["b"]
    assert sorted(everything) == [f"s{n:03}" for n in range(200)]  # each once, none left
    assert taken["a"] and taken["b"]  # both worked
    assert queue.claim("c", now=3, lease_ms=60_000, limit=10) == []
    store.close()


def test_recheck_of_an_article(tmp_path: Path, server: LoopbackServer, database: str) -> None:
    page = (
        "<html><head><title>平壤会谈</title></head><body><article><h1>平壤会谈</h1>"
        f"<p>{TEXT}</p></article></body></html>"
    )
    server.set("/a/x.html", Route(page.encode(), headers=HTML))
    feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>N</title>'
        f"<link>{server.base_url}/</link><item><guid>x</guid><title>平壤会谈</title>"
        f"<link>{server.base_url}/a/x.html</link></item></channel></rss>"
    )
    server.set("/feed.xml", Route(feed.encode(), headers=RSS))
    sources = [("n", "N", server.url("/feed.xml"))]
    root = make_archive(tmp_path / "pg", sources, database=database).root
    cli("-a", str(root), "run")
    (article,) = json.loads(cli("-a", str(root), "list", "--json"))
    checked = json.loads(cli("-a", str(root), "recheck", str(article["id"]), "--json"))
    assert [r["status"] for r in checked] == ["live"], checked
    server.set("/a/x.html", Route(b"no", status=404))
    gone = json.loads(cli("-a", str(root), "recheck", str(article["id"]), "--json"))
    assert [r["status"] for r in gone] == ["gone"], gone
    shown = json.loads(cli("-a", str(root), "show", str(article["id"])))
    assert shown["status"] == "gone" and "404" in shown["gone_reason"]


def test_stories_index_articles_and_search_finds_them(
    tmp_path: Path, server: LoopbackServer, database: str
) -> None:
    server.set("/alpha.xml", Route(rss("alpha", 3, base=server.base_url)))
    sources = [("alpha", "A", server.url("/alpha.xml"))]
    archive = make_archive(tmp_path / "pg", sources, database=database)
    store = archive.store()
    try:
        cli("-a", str(archive.root), "run")  # stories and the index, as part of the run
        with store.engine.connect() as conn:
            rows = conn.execute(select(articles.c.grouped, articles.c.story_id)).all()
            indexed = conn.execute(text("SELECT COUNT(*) FROM search")).scalar()
        assert len(rows) == 3 and all(row.grouped == DONE and row.story_id for row in rows)
        assert indexed == 3
        title = json.loads(cli("-a", str(archive.root), "list", "--json"))[0]["title"]
        word = title.split()[0]
        found = json.loads(cli("-a", str(archive.root), "search", word, "--json"))
        assert title in [hit["title"] for hit in found], (word, found)
        cli("-a", str(archive.root), "stories")  # the stories listing works on PostgreSQL
    finally:
        store.close()


def test_articles_grouped_before_the_index_get_into_it(database: str) -> None:
    """The search migration marks what was grouped without an index; the next pass indexes
    it."""
    store = Store(database)
    source = store.ensure_source("s", "S")
    item = Article(
        source="s", key="k", url="https://s.example/k", title="普京抵达平壤", html="<p>x</p>",
        text=TEXT, published=1718800000000, fetched=1718800000000,
    )  # fmt: skip
    store.add_articles(source, [item], None)
    process_pending(store)
    with store.engine.begin() as conn:  # as an archive grouped before the index was there
        conn.execute(text("DELETE FROM search"))
        conn.execute(update(articles).values(grouped=3))
    report = process_pending(store)
    assert report.articles == 0  # not grouped again
    with store.engine.connect() as conn:
        assert conn.execute(select(articles.c.grouped)).scalars().all() == [DONE]
        assert conn.execute(select(articles.c.story_id)).scalar()
    assert [hit.article.key for hit in search(store, "平壤")] == ["k"]
    store.close()
