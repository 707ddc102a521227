"""Publishing benchmark: the static site built in full and incrementally for 10,000 and 100,000
articles, beside the obvious alternative (render every page again each time, same templates);
then the web app's requests/s for an article page and a search page, beside a plain static
file server (Starlette's StaticFiles) serving the same site, loaded from a second process over
loopback with a bounded number of requests.

    .venv/bin/python benchmarks/publish.py [--sizes 10000,100000] [--requests 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import ROOT, synthetic

sys.path.insert(0, str(ROOT))
from newsvault.archive import Archive
from newsvault.models import Article
from newsvault.publish.site import SiteBuilder, build_site
from newsvault.stories.fold import fold, tokens

T0 = 1718800000000
SOURCES = 20
NEW = 100  # articles added before the incremental build


def make_archive(root: Path, count: int) -> Archive:
    archive = Archive.init(root, config_text="")
    store = archive.store()
    ids = [store.ensure_source(f"s{n}", f"来源{n}") for n in range(SOURCES)]
    texts = synthetic(count + NEW, seed=5)
    add(store, ids, texts[:count], 0)
    store.close()
    archive.pending = texts[count:]  # type: ignore[attr-defined]
    return archive


def add(store, ids: list[int], texts: list[tuple[str, str]], start: int) -> None:
    for first in range(0, len(texts), 2000):
        batch: dict[int, list[Article]] = {i: [] for i in ids}
        for n, (title, text) in enumerate(texts[first : first + 2000], start + first):
            html = "".join(f"<p>{line}</p>" for line in text.split("。") if line)
            batch[ids[n % SOURCES]].append(
                Article(
                    source="",
                    key=f"k{n}",
                    url=f"https://news{n % SOURCES}.example/{n}.html",
                    title=title,
                    html=html,
                    text=text,
                    published=T0 + n * 60_000,
                    fetched=T0,
                )
            )
        for source_id, items in batch.items():
            store.add_articles(source_id, items, None)
    with store.stories.batch() as indexing:
        for n, (title, text) in enumerate(texts, start + 1):
            indexing.add_to_index(n, tokens(fold(title)), tokens(fold(text)))


def timed_build(archive: Archive, *, naive: bool = False) -> tuple[float, int]:
    store = archive.store()
    builder = SiteBuilder(store, archive.root, archive.settings, [])
    if naive:  # every page rendered and written again, as a plain generator does
        shutil.rmtree(archive.root / "site")
    started = time.perf_counter()
    report = builder.build()
    seconds = time.perf_counter() - started
    store.close()
    return seconds, report.written


def site_rows(sizes: list[int], console: Console) -> list[tuple]:
    rows = []
    for count in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            console.print(f"building an archive of {count:,} articles…")
            archive = make_archive(Path(tmp) / "news", count)
            full, pages = timed_build(archive)
            rows.append((count, "newsvault, first build", full, pages))
            again, written = timed_build(archive)
            rows.append((count, "newsvault, nothing new", again, written))
            store = archive.store()
            add(store, list(range(1, SOURCES + 1)), archive.pending, count)  # type: ignore[attr-defined]
            store.close()
            incremental, written = timed_build(archive)
            rows.append((count, f"newsvault, {NEW} new articles", incremental, written))
            naive, rendered = timed_build(archive, naive=True)
            rows.append((count, "render every page again", naive, rendered))
    return rows


def serve(app, port_holder: list[int], ready: threading.Event, stop: threading.Event) -> None:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port_holder.append(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))

    def watch() -> None:
        while not server.started:
            time.sleep(0.05)
        ready.set()
        stop.wait()
        server.should_exit = True

    threading.Thread(target=watch, daemon=True).start()
    server.run(sockets=[sock])


def load(url: str, requests: int, concurrency: int, queue) -> None:
    """The load generator, in its own process: `requests` GETs, `concurrency` at a time."""
    import aiohttp

    async def main() -> float:
        done = 0
        async with aiohttp.ClientSession() as session:

            async def worker() -> None:
                nonlocal done
                while done < requests:
                    done += 1
                    async with session.get(url) as response:
                        await response.read()
                        assert response.status == 200, response.status

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return time.perf_counter() - started

    queue.put(asyncio.run(main()))


def measure(app, path: str, requests: int) -> float:
    ports: list[int] = []
    ready, stop = threading.Event(), threading.Event()
    thread = threading.Thread(target=serve, args=(app, ports, ready, stop), daemon=True)
    thread.start()
    ready.wait(30)
    queue = multiprocessing.get_context("spawn").Queue()
    url = f"http://127.0.0.1:{ports[0]}{path}"
    warm = multiprocessing.get_context("spawn").Process(target=load, args=(url, 50, 4, queue))
    warm.start()
    warm.join()
    queue.get()
    worker = multiprocessing.get_context("spawn").Process(
        target=load, args=(url, requests, 16, queue)
    )
    worker.start()
    worker.join(timeout=600)
    seconds = queue.get(timeout=5)
    stop.set()
    thread.join(timeout=30)
    return requests / seconds


def app_rows(requests: int, console: Console) -> list[tuple]:
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    from newsvault.web.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        console.print("building a 10,000-article archive for the web app…")
        archive = make_archive(Path(tmp) / "news", 10_000)
        store = archive.store()
        build_site(store, archive.root, archive.settings, [])
        store.close()
        article = "/articles/s3/1048500.html"
        static = Starlette(routes=[Mount("/", StaticFiles(directory=archive.root / "site"))])
        app = create_app(archive.root)
        rows = [
            ("article page", "newsvault serve", measure(app, article, requests)),
            ("article page", "Starlette StaticFiles", measure(static, article, requests)),
            ("search page (条约)", "newsvault serve", measure(app, "/search?q=条约", requests)),
            ("search API (普京)", "newsvault serve", measure(app, "/api/search?q=普京", requests)),
        ]
        shutil.rmtree(archive.root / "site")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    console = Console(width=120)  # whole tables in a log file too
    sizes = [int(s) for s in args.sizes.split(",")]
    table = Table(title="static site build")
    for column in ("articles", "build", "seconds", "pages written", "pages/s"):
        table.add_column(column, justify="left" if column == "build" else "right")
    for count, label, seconds, pages in site_rows(sizes, console):
        table.add_row(
            f"{count:,}", label, f"{seconds:.2f}", f"{pages:,}", f"{pages / seconds:,.0f}"
        )
    console.print(table)
    served = Table(title=f"web app, {args.requests:,} requests from a second process, 16 at a time")
    for column in ("page", "server", "requests/s"):
        served.add_column(column, justify="right" if column == "requests/s" else "left")
    for page, server, rate in app_rows(args.requests, console):
        served.add_row(page, server, f"{rate:,.0f}")
    console.print(served)


if __name__ == "__main__":
    main()
