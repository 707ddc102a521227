"""The store: migrations, idempotent adds, versions of edited articles."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from newsvault.models import Article
from newsvault.store import Store
from newsvault.store.db import FIRST_NUMBER
from newsvault.store.engine import CACHE_KIB, open_engine
from newsvault.store.schema import MIGRATIONS, metadata


def article(key: str, title: str = "t", html: str = "<p>x</p>", published: int = 1) -> Article:
    return Article(
        source="s", key=key, url=f"https://e.com/{key}", title=title, html=html, text="x",
        published=published, fetched=2,
    )  # fmt: skip


def test_migrations_build_the_declared_tables(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "db")
    assert store.schema_version() == len(MIGRATIONS)
    db = sqlite3.connect(tmp_path / "db")
    for table in metadata.tables.values():
        columns = [row[1] for row in db.execute(f"PRAGMA table_info({table.name})")]
        assert columns == [c.name for c in table.columns], table.name
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()
    # Opening again applies nothing twice.
    assert Store.open(tmp_path / "db").schema_version() == len(MIGRATIONS)


def test_the_published_hours_migration_spans_the_articles_before_it(tmp_path: Path) -> None:
    """An archive made before published_hours gets each hour's lowest and highest id from
    its articles (an article out of time order widens its hour)."""
    store = Store.open(tmp_path / "db")
    source = store.ensure_source("s", "s")
    hour = 3_600_000
    dates = [5 * hour + 1, 5 * hour + 2, 7 * hour, 5 * hour + 3, -hour - 1]
    store.add_articles(source, [article(f"k{n}", published=d) for n, d in enumerate(dates)], None)
    db = sqlite3.connect(tmp_path / "db")
    spans = db.execute("SELECT * FROM published_hours ORDER BY hour").fetchall()
    number = next(n for n, m in enumerate(MIGRATIONS, 1) if "published_hours" in m[0])
    db.execute("DROP TABLE published_hours")
    db.execute("DROP INDEX articles_found")  # the migration after it, made again
    db.execute("DELETE FROM schema_version WHERE version >= ?", (number,))
    db.commit()
    store.close()
    Store.open(tmp_path / "db").close()
    assert db.execute("SELECT * FROM published_hours ORDER BY hour").fetchall() == spans
    ids = [row[0] for row in db.execute("SELECT id FROM articles ORDER BY published")]
    assert spans == [(-1, ids[0], ids[0]), (5, ids[1], ids[3]), (7, ids[4], ids[4])]


def test_numbers_count_down_and_adds_are_idempotent(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "db")
    source = store.ensure_source("s", "S")
    first = store.add_articles(source, [article("a"), article("b")], None)
    assert [a.number for a in first.new] == [FIRST_NUMBER, FIRST_NUMBER - 1]
    again = store.add_articles(source, [article("a"), article("b"), article("c")], None)
    assert [a.number for a in again.new] == [FIRST_NUMBER - 2]
    assert again.unchanged == 2
    assert [a.key for a in store.articles("s")] == ["c", "b", "a"]


def test_an_edit_is_kept_as_a_version_once(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "db")
    source = store.ensure_source("s", "S")
    store.add_articles(source, [article("a")], None)
    edited = store.add_articles(source, [article("a", html="<p>edited</p>")], None)
    assert edited.edited == 1 and not edited.new
    repeat = store.add_articles(source, [article("a", html="<p>edited</p>")], None)
    assert repeat.edited == 0 and repeat.unchanged == 1
    (kept,) = store.articles("s")
    assert kept.html == "<p>x</p>"  # the archive keeps what was first published
    assert store.version_count(kept.id or 0) == 1


def test_same_url_under_another_guid_is_the_same_article(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "db")
    source = store.ensure_source("s", "S")
    store.add_articles(source, [article("a")], None)
    renamed = article("other-guid")
    renamed.url = "https://e.com/a"
    assert not store.add_articles(source, [renamed], None).new


def test_a_feed_listing_one_item_twice_stores_it_once(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "db")
    source = store.ensure_source("s", "S")
    added = store.add_articles(
        source, [article("a"), article("a"), article("a", html="<p>later</p>")], None
    )
    assert len(added.new) == 1 and added.new[0].id is not None
    assert (added.edited, added.unchanged) == (1, 1)
    assert store.version_count(added.new[0].id) == 1


def test_many_items_get_their_ids_in_order(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "db")
    source = store.ensure_source("s", "S")
    added = store.add_articles(source, [article(f"k{n}") for n in range(1000)], None)
    for item in added.new:
        assert store.article(item.id or 0).key == item.key
    again = store.add_articles(source, [article(f"k{n}") for n in range(1000)], None)
    assert (len(again.new), again.unchanged) == (0, 1000)
    numbers = list(range(FIRST_NUMBER, FIRST_NUMBER - 1000, -1))
    assert [a.key for a in store.articles_by_numbers("s", numbers[::7])] == [
        f"k{n}" for n in range(0, 1000, 7)
    ]


def test_sqlite_keeps_statement_journals_in_memory_with_a_larger_page_cache(
    tmp_path: Path,
) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        settings = [
            conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "temp_store", "cache_size")
        ]
    assert settings == ["wal", 1, 2, -CACHE_KIB]  # temp_store 2: MEMORY
