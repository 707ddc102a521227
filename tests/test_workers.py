"""Several workers on one PostgreSQL archive: article numbers given under concurrency,
the archive's named locks across processes, and `newsvault worker` processes killed and
started again ending where one worker ends."""

from __future__ import annotations

import multiprocessing

from newsvault.models import Article
from newsvault.store import Store
from newsvault.store.db import FIRST_NUMBER

from .test_postgres import database

__all__ = ["database"]  # the fixture, from test_postgres
WRITERS, BATCHES, PER_BATCH = 4, 6, 5


def _item(writer: int, batch: int, n: int) -> Article:
    url = f"https://news.test/{writer}/{batch}/{n}.html"
    return Article(
        source="s", url=url, title=f"{writer}-{batch}-{n}", html=f"<p>{writer} {batch} {n}</p>",
        text=f"{writer} {batch} {n}", published=1_700_000_000_000, fetched=1, key=url,
    )  # fmt: skip


def _store_batches(url: str, writer: int, start: multiprocessing.synchronize.Barrier) -> None:
    store = Store(url)
    source_id = store.ensure_source("s", "S")  # all at once: one row, no conflict
    start.wait()
    for batch in range(BATCHES):
        items = [_item(writer, batch, n) for n in range(PER_BATCH)]
        items.append(_item(0, batch, 0))  # one item every writer sees: stored once
        store.add_articles(source_id, items, None)
    store.close()


def test_writers_at_once_give_one_source_unique_gapless_numbers(database: str) -> None:
    Store(database).close()  # migrated before the writers race
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(WRITERS)
    writers = [
        context.Process(target=_store_batches, args=(database, w, start)) for w in range(WRITERS)
    ]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=120)
    assert [p.exitcode for p in writers] == [0] * WRITERS
    store = Store(database)
    stored = list(store.articles("s", with_content=False))
    store.close()
    urls = [a.url for a in stored]
    assert len(urls) == len(set(urls))
    distinct = {f"https://news.test/{w}/{b}/{n}.html" for w in range(WRITERS)
                for b in range(BATCHES) for n in range(PER_BATCH)}  # fmt: skip
    assert set(urls) == distinct
    numbers = sorted(a.number for a in stored)
    assert numbers == list(range(FIRST_NUMBER - len(distinct) + 1, FIRST_NUMBER + 1))
    # each batch's items in the order given, as one writer stores them
    by_url = {a.url: a.number for a in stored}
    for w in range(1, WRITERS):
        for b in range(BATCHES):
            got = [by_url[f"https://news.test/{w}/{b}/{n}.html"] for n in range(PER_BATCH)]
            assert got == sorted(got, reverse=True) and got[0] - got[-1] == PER_BATCH - 1
