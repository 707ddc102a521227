"""Several workers on one PostgreSQL archive: article numbers given under concurrency,
the archive's named locks across processes, capture files of several hosts in one directory,
and `newsvault worker` processes killed and
started again ending where one worker ends."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import time
from pathlib import Path

import pytest
from multidict import CIMultiDict, CIMultiDictProxy
from typer.testing import CliRunner

from newsvault.archive import Archive
from newsvault.captures import CaptureWriter, read_capture
from newsvault.cli import app
from newsvault.errors import ArchiveError
from newsvault.fetch.client import Response
from newsvault.loopback import LoopbackServer, Route
from newsvault.models import Article
from newsvault.store import Store
from newsvault.store.db import FIRST_NUMBER

from .conftest import make_archive
from .feedgen import rss
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


HOLD = """
import sys, time
from pathlib import Path
from newsvault.archive import Archive
from newsvault.captures import CaptureWriter, read_capture
from newsvault.cli import app
with Archive(Path(sys.argv[1])).lock(sys.argv[2]):
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_named_lock_holds_across_archive_directories_on_one_database(
    tmp_path: Path, database: str
) -> None:
    """Two machines: two archive directories (no lock file in common), one database."""
    here = make_archive(tmp_path / "here", [], database=database)
    there = make_archive(tmp_path / "there", [], database=database)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(there.root), "publish"], stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        busy = r"busy with publish .*a lock of the database"
        with pytest.raises(ArchiveError, match=busy), here.lock("publish", wait=0.3):
            pass
        with pytest.raises(ArchiveError), here.lock("publish", wait=0):
            pass
        with here.lock("stories", wait=0):  # another name, another lock
            pass
        holder.kill()  # dying holding it: the lock goes with its connection
        holder.wait()
        started = time.monotonic()
        with here.lock("publish", wait=10):
            assert time.monotonic() - started < 5
            with pytest.raises(ArchiveError), there.lock("publish", wait=0):  # held here now
                pass
    finally:
        holder.kill()
        holder.wait()


def _response(url: str) -> Response:
    headers = CIMultiDictProxy(CIMultiDict({"Content-Type": "text/html"}))
    return Response(url=url, status=200, headers=headers, raw=b"<p>x</p>", body=b"<p>x</p>",
                    fetched=1_700_000_000.0)  # fmt: skip


def test_writers_of_two_hosts_in_one_directory_keep_to_their_own_files(tmp_path: Path) -> None:
    shared = tmp_path / "captures"
    (shared / "00007.warc.gz").parent.mkdir()
    (shared / "00007.warc.gz").write_bytes(b"")  # a file of an archive from before: not theirs
    ends: dict[str, int] = {}
    one = CaptureWriter(shared, ends, 10**9, host="w1.example.org")
    two = CaptureWriter(shared, ends, 10**9, host="w2")
    refs = [one.write(_response("https://a.test/1")), two.write(_response("https://a.test/2"))]
    one.close()
    two.close()
    assert [r.file for r in refs] == ["00001.w1-example-org.warc.gz", "00001.w2.warc.gz"]
    again = CaptureWriter(shared, ends, 10**9, host="w1.example.org")  # the host's next process
    assert again.write(_response("https://a.test/3")).file == "00001.w1-example-org.warc.gz"
    again.close()
    for ref in refs:
        assert read_capture(shared, ref.file, ref.offset)[2] == b"<p>x</p>"


def test_captures_go_where_the_setting_says(tmp_path: Path, server: LoopbackServer) -> None:
    server.set("/f.xml", Route(rss("f", 2, base=server.base_url)))
    root = tmp_path / "news"
    make_archive(root, [("f", "F", server.url("/f.xml"))])
    with (root / "newsvault.toml").open("a") as config:
        config.write(f'\n[captures]\ndirectory = "{tmp_path / "elsewhere"}"\n')
    result = CliRunner().invoke(app, ["-a", str(root), "run"])
    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "elsewhere").iterdir()] == ["00001.warc.gz"]
    assert not any((root / "captures").iterdir())
    archive = Archive(root)
    store = archive.store()
    try:
        for article in store.articles():
            capture = store.capture(article.capture_id or 0)
            assert capture is not None
            read_capture(archive.captures_dir, capture.warc_file, capture.warc_offset)
    finally:
        store.close()
