"""Several workers on one PostgreSQL archive: article numbers given under concurrency,
the archive's named locks across processes, capture files of several hosts in one directory,
and `newsvault worker` processes killed and
started again ending where one worker ends."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import itertools
import json
import multiprocessing
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from email.utils import format_datetime
from pathlib import Path

import psycopg
import pytest
from multidict import CIMultiDict, CIMultiDictProxy
from sqlalchemy import func, select
from typer.testing import CliRunner

from newsvault.archive import Archive
from newsvault.captures import CaptureWriter, read_capture
from newsvault.cli import app
from newsvault.errors import ArchiveError
from newsvault.fetch.client import Fetcher, Response
from newsvault.files import write_atomic
from newsvault.logs import EventLog
from newsvault.loopback import LoopbackServer, Route
from newsvault.models import Article, Job, Source
from newsvault.pages import archive_rules, capture_writer
from newsvault.store import Store
from newsvault.store.db import FIRST_NUMBER
from newsvault.store.schema import articles, sources, versions
from newsvault.watch.daemon import Watcher

from .conftest import POSTGRES, TEST_DATABASE, make_archive
from .feedgen import START, rss
from .test_crash import state
from .test_postgres import database
from .test_recheck import HTML, page
from .test_watch import RSS, until

__all__ = ["database"]  # the fixture, from test_postgres
WRITERS, BATCHES, PER_BATCH = 4, 6, 5


@pytest.fixture
def two_databases(postgres_url: str) -> Iterator[tuple[str, str]]:
    """Two empty PostgreSQL databases beside the session's, dropped after the test."""
    names = [f"newsvault_workers_{os.getpid()}_{n}" for n in (1, 2)]
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        for name in names:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {name}")
    try:
        first, second = (postgres_url.rsplit("/", 1)[0] + f"/{name}" for name in names)
        yield first, second
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            for name in names:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


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
    (written,) = (tmp_path / "elsewhere").iterdir()  # named after the host on PostgreSQL
    assert re.fullmatch(r"00001(\.[A-Za-z0-9-]+)?\.warc\.gz", written.name), written.name
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


# -- four workers, killed at random moments, end where one worker ends ----------------------

FULL, PAGED = ("full0", "full1"), ("paged0", "paged1")  # feeds with the text; with pages
FIRST, MORE = 10, 2  # items at first; items the feeds add later, when the full ones edit all


def _serve(server: LoopbackServer, phase: int) -> None:
    """The loopback newsroom as it is in `phase` 1, then 2 (every full-text item edited,
    MORE items added to every feed)."""
    base = server.base_url
    count = FIRST + (MORE if phase == 2 else 0)
    for name in FULL:
        body = "<p>更正：本文已更新。</p>" if phase == 2 else ""
        server.set(f"/{name}.xml", Route(rss(name, count, base=base, body=body), delay=0.05))
    for name in PAGED:
        server.set(f"/{name}.xml", Route(_paged_feed(base, name, count), headers=RSS, delay=0.05))
        for n in range(count):
            server.set(f"/a/{name}-{n}.html", Route(page(f"{name}-{n} 报道"), headers=HTML))


def _paged_feed(base: str, name: str, count: int) -> bytes:
    """Items with a summary only (their text is on their pages), each with its date."""
    items = "".join(
        f"<item><guid>{name}-{n}</guid><title>{name}-{n} 报道</title>"
        f"<link>{base}/a/{name}-{n}.html</link><description>摘要。</description>"
        f"<pubDate>{format_datetime(START + dt.timedelta(hours=n), usegmt=True)}</pubDate></item>"
        for n in reversed(range(count))
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>N</title>'
        f"<link>{base}/</link>{items}</channel></rss>"
    ).encode()


def _newsroom(root: Path, server: LoopbackServer, database: str | None) -> Archive:
    sources = [(name, name, server.url(f"/{name}.xml")) for name in FULL + PAGED]
    archive = make_archive(root, sources, database=database, per_host=4)
    with archive.config_path.open("a") as config:  # polled every second; a short lease
        config.write('\n[watch]\ninterval = "1s"\nmax_interval = "1s"\nlease = "4s"\n')
    return Archive(root)


_logs = itertools.count(1)


class Worker:
    """`newsvault worker` in a process of its own, logging to a file of its own."""

    def __init__(self, archive: Archive, logs: Path) -> None:
        self.log = logs / f"worker-{next(_logs)}.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env["NEWSVAULT_DATABASE"] = archive.settings["database"]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "newsvault", "-a", str(archive.root), "worker",
             "--log-format", "json"],
            stdout=subprocess.DEVNULL, stderr=self.log.open("ab"), env=env,
        )  # fmt: skip

    def lines(self) -> list[dict]:
        text = self.log.read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    def stop(self) -> None:
        """SIGTERM once it has started (a stop asked for while Python imports kills it)."""
        until(lambda: any(line["event"] == "started" for line in self.lines()), "a start")
        self.process.send_signal(signal.SIGTERM)


def _counts(archive: Archive) -> tuple[int, int, int]:
    """Articles, versions, and image jobs not finished."""
    store = archive.store()
    try:
        with store.engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(articles)).scalar() or 0
            edits = conn.execute(select(func.count()).select_from(versions)).scalar() or 0
        images = sum(store.jobs.pending(now=2**62).get("image", (0, 0)))
    finally:
        store.close()
    return stored, edits, images


def _versions(archive: Archive) -> list[tuple]:
    store = archive.store()
    try:
        query = (
            select(sources.c.slug, articles.c.number, versions.c.title, versions.c.content_hash)
            .join(articles, articles.c.id == versions.c.article_id)
            .join(sources, sources.c.id == articles.c.source_id)
        )
        with store.engine.connect() as conn:
            return sorted(tuple(row) for row in conn.execute(query))
    finally:
        store.close()


def _stop(workers: list[Worker]) -> None:
    for worker in workers:
        worker.stop()
    for worker in workers:
        code = worker.process.wait(timeout=30)
        assert code == 0, worker.log.read_text()[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_four_workers_killed_at_random_end_where_one_worker_ends(
    tmp_path: Path,
    server: LoopbackServer,
    backend: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On PostgreSQL as on several machines; on SQLite, as on one."""
    if backend == "postgresql":
        one_db, four_db = request.getfixturevalue("two_databases")
    else:
        monkeypatch.delenv("NEWSVAULT_DATABASE", raising=False)
        one_db = four_db = None
    expected = {1: 4 * FIRST, 2: 4 * (FIRST + MORE)}

    _serve(server, 1)
    reference = _newsroom(tmp_path / "one", server, one_db)
    workers = [Worker(reference, tmp_path)]
    try:
        until(lambda: _counts(reference)[::2] == (expected[1], 0), "the first articles", 60)
        _serve(server, 2)
        until(lambda: _counts(reference)[0] == expected[2], "the later articles", 60)
        edits = len(FULL) * FIRST
        until(lambda: _counts(reference) == (expected[2], edits, 0), "the edits", 60)
    finally:
        _stop(workers)
    one = (state(reference), _versions(reference))

    _serve(server, 1)
    victim = _newsroom(tmp_path / "four", server, four_db)
    chance = random.Random(os.environ.get("PYTHONHASHSEED", "13"))
    workers: list[Worker] = []
    kills = 0  # workers killed once they were at work
    try:
        for phase in (1, 2):
            _serve(server, phase)
            for _ in range(4):  # a random one killed at a random moment, then started again
                workers += [Worker(victim, tmp_path) for _ in range(4 - len(workers))]
                time.sleep(chance.uniform(1.0, 3.0))
                killed = workers.pop(chance.randrange(len(workers)))
                killed.process.kill()
                killed.process.wait()
                kills += any(line["event"] in ("poll", "images") for line in killed.lines())
            workers += [Worker(victim, tmp_path) for _ in range(4 - len(workers))]
            if phase == 1:
                until(lambda: _counts(victim)[::2] == (expected[1], 0), "the first articles", 90)
        until(lambda: _counts(victim) == (expected[2], edits, 0), "everything after the kills", 90)
    finally:
        _stop(workers)
    assert (state(victim), _versions(victim)) == one
    assert kills >= 3, "too few workers were killed at work: give them longer"
    files = sorted(p.name for p in victim.captures_dir.iterdir())
    on_postgres = four_db or TEST_DATABASE == "postgresql"  # the suite on PostgreSQL: every archive
    named = r"\d{5}\.[A-Za-z0-9-]+\.warc\.gz" if on_postgres else r"\d{5}\.warc\.gz"  # by host
    assert files and all(re.fullmatch(named, f) for f in files), files


def test_a_poll_for_a_source_added_elsewhere_is_polled_not_dropped(
    tmp_path: Path, server: LoopbackServer
) -> None:
    """Another worker read newsvault.toml first and queued the new source's poll: this one,
    which looked at the file a moment before it changed, reads it again instead of taking
    the source for one no longer followed (and finishing its job for good)."""
    server.set("/a.xml", Route(rss("a", 1, base=server.base_url)))
    server.set("/b.xml", Route(rss("b", 2, base=server.base_url)))
    root = tmp_path / "news"
    make_archive(root, [("a", "A", server.url("/a.xml"))])
    watcher = Watcher(root, EventLog(stream=io.StringIO()), role="worker")
    watcher.store = watcher.archive.store()
    watcher.writer = capture_writer(watcher.archive, watcher.store)
    watcher.rules = archive_rules(watcher.archive)
    try:
        watcher._sync()
        time.sleep(0.01)  # a later mtime
        Archive(root).add_source(Source(slug="b", name="B", url=server.url("/b.xml")))
        watcher.store.jobs.enqueue("poll", "b", 0, now=0)  # as the other worker did
        (job,) = watcher.store.jobs.claim("w", now=1, lease_ms=60_000, limit=1, kinds=["poll"])

        async def poll() -> None:
            async with Fetcher(watcher.archive.settings.fetch_options()) as watcher.fetcher:
                await watcher._poll(job)

        asyncio.run(poll())
        polled = watcher.store.jobs.get("poll", "b")
        assert polled is not None and polled.finished is None and polled.due > 1
        assert len(list(watcher.store.articles("b"))) == 2
    finally:
        watcher.writer.close()
        watcher.store.close()


def _write_often(path: str, mark: bytes, start: multiprocessing.synchronize.Barrier) -> None:
    start.wait()
    for _ in range(400):
        write_atomic(Path(path), mark * 1000)


def test_two_processes_writing_one_file_at_once_both_succeed(tmp_path: Path) -> None:
    """Two workers mirroring one image into media/ at once (two articles showing it)."""
    target = tmp_path / "media" / "image.jpg"
    target.parent.mkdir()
    context = multiprocessing.get_context("fork")
    start = context.Barrier(2)
    writers = [
        context.Process(target=_write_often, args=(str(target), mark, start))
        for mark in (b"a", b"b")
    ]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=60)
    assert [p.exitcode for p in writers] == [0, 0]
    assert target.read_bytes() in (b"a" * 1000, b"b" * 1000)
    assert [p.name for p in target.parent.iterdir()] == ["image.jpg"]


def test_a_job_longer_than_its_lease_stays_with_its_worker(
    tmp_path: Path, server: LoopbackServer
) -> None:
    """A poll that takes 3 s under a 1 s lease: its worker extends the lease as it goes, so
    no other worker takes the job meanwhile, and its finish counts."""
    server.set("/slow.xml", Route(rss("slow", 2, base=server.base_url), delay=3.0))
    root = tmp_path / "news"
    make_archive(root, [("slow", "S", server.url("/slow.xml"))], timeout=10.0)
    with (root / "newsvault.toml").open("a") as config:
        config.write('\n[watch]\nlease = "1s"\ninterval = "1h"\n')
    log = io.StringIO()
    watcher = Watcher(root, EventLog(stream=log), role="worker")
    taken: list[list[Job]] = []

    async def meanwhile(stop: asyncio.Event) -> None:
        store = Archive(root).store()
        try:
            while (job := store.jobs.get("poll", "slow")) is None or job.lease_owner is None:
                await asyncio.sleep(0.05)
            while " poll " not in log.getvalue():  # another worker looking till the poll ends
                now = int(time.time() * 1000)
                taken.append(store.jobs.claim("other", now=now, lease_ms=1000, limit=1))
                await asyncio.sleep(0.1)
        finally:
            stop.set()
            store.close()

    async def main() -> None:
        stop = asyncio.Event()
        await asyncio.gather(watcher.run(stop), meanwhile(stop))

    asyncio.run(main())
    assert len(taken) > 20 and not any(taken)
    store = Archive(root).store()
    try:
        job = store.jobs.get("poll", "slow")
        assert job is not None and job.lease_owner is None and job.attempts == 0  # finished
        assert len(list(store.articles("slow"))) == 2
    finally:
        store.close()


def test_extending_a_lease_keeps_the_job_and_says_when_it_was_lost(tmp_path: Path) -> None:
    queue = Store.open(tmp_path / "db").jobs
    for target in ("a", "b"):
        queue.enqueue("poll", target, 0, now=0)
    a, b = queue.claim("w1", now=0, lease_ms=1000, limit=2)
    assert queue.extend([a], until=5000) == [] and a.lease_until == 5000
    assert [j.target for j in queue.claim("w2", now=2000, lease_ms=1000, limit=2)] == ["b"]
    assert queue.extend([a, b], until=6000) == [b]  # w2 took b when its lease ran out
    assert queue.finish(a, now=3000, next_due=10_000) and not queue.finish(b, now=3000)
