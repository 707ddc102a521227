"""Scheduler benchmark: how many jobs `newsvault watch` dispatches a second, beside the same
work done the cron way (`newsvault run`, a new process each time).

N sources, each a feed served on 127.0.0.1 that answers 304 to the conditional GET once
archived (the common case: most polls find nothing new). Measured in one run on the same
archive and server:

- the queue alone: claim, then finish, N no-op jobs (the scheduler's own cost, no network);
- `watch`: every source's poll job due at once, the watcher dispatching them (a poll each:
  claim, conditional GET, 304, record the poll, finish with the next due time);
- `run`: the cron form, polling the same N feeds once, timed as a process (start-up, every
  feed polled, the due re-checks looked for, the markdown caught up).

The server runs in a process of its own, so neither side shares its interpreter with it.

    .venv/bin/python benchmarks/scheduler.py [--sources 400]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsvault.archive import Archive  # noqa: E402
from newsvault.logs import EventLog  # noqa: E402
from newsvault.loopback import LoopbackServer, Route  # noqa: E402
from newsvault.models import to_ms  # noqa: E402
from newsvault.pipeline import run  # noqa: E402
from newsvault.watch.daemon import Watcher  # noqa: E402

WORKERS = 16


SENTENCE = "俄罗斯总统普京周三抵达平壤，与朝鲜领导人金正恩举行会谈。"


def feed(n: int) -> bytes:
    items = "".join(
        f"<item><guid>s{n}-{i}</guid><title>来源 {n} 报道 {i}</title>"
        f"<link>https://example.test/{n}/{i}</link>"
        f"<description>{SENTENCE * 12}</description>"
        "</item>"
        for i in range(5)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>F</title>'
        f"<link>https://example.test/{n}</link>{items}</channel></rss>"
    ).encode()


def serve_feeds(count: int, ready: Any, done: Any) -> None:
    with LoopbackServer() as server:
        for n in range(count):
            server.set(
                f"/{n}.xml",
                Route(feed(n), headers={"Content-Type": "application/rss+xml"}, etag=f'"{n}"'),
            )
        ready.send(server.base_url)
        done.wait()


class Timeline(EventLog):
    """Keeps when each poll ended instead of writing lines."""

    def __init__(self) -> None:
        super().__init__()
        self.polls: list[float] = []

    def emit(self, event: str, *, level: str = "info", **fields: Any) -> None:
        if event == "poll":
            self.polls.append(time.perf_counter())


def queue_alone(archive: Archive, count: int) -> float:
    store = archive.store()
    queue = store.jobs
    now = to_ms(time.time())
    for n in range(count):
        queue.enqueue("bench", str(n), now, now=now)
    started = time.perf_counter()
    done = 0
    while done < count:
        for job in queue.claim("bench", now=now, lease_ms=60_000, limit=WORKERS, kinds=["bench"]):
            queue.finish(job, now=now)
            done += 1
    seconds = time.perf_counter() - started
    store.close()
    return seconds


async def watch_until(watcher: Watcher, timeline: Timeline, count: int) -> None:
    stop = asyncio.Event()

    async def finish_when_done() -> None:
        while len(timeline.polls) < count:
            await asyncio.sleep(0.005)
        stop.set()

    await asyncio.gather(watcher.run(stop), finish_when_done())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=400)
    args = parser.parse_args()
    count = args.sources
    ours, theirs = multiprocessing.Pipe()
    done = multiprocessing.Event()
    server = multiprocessing.Process(target=serve_feeds, args=(count, theirs, done), daemon=True)
    server.start()
    base = ours.recv()
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            lines = [
                "[fetch]", "allow_private_networks = true", "host_delay = 0.0",
                f"per_host = {WORKERS}", f"concurrency = {WORKERS}", "respect_robots = false",
                "[watch]", f"workers = {WORKERS}", "",
            ]  # fmt: skip
            for n in range(count):
                lines += ["[[sources]]", f'slug = "s{n}"', f'url = "{base}/{n}.xml"', ""]
            archive = Archive.init(Path(tmp) / "a", config_text="\n".join(lines))
            run(archive, archive.sources())  # archived once: from now on every poll is a 304

            seconds = queue_alone(archive, count)
            rows.append(("the queue alone: claim + finish, no work", seconds, "-"))

            timeline = Timeline()
            watcher = Watcher(archive.root, timeline)
            asyncio.run(watch_until(watcher, timeline, count))
            span = timeline.polls[-1] - timeline.polls[0]
            rows.append(("watch: every poll due at once, 304s", span * count / (count - 1), "-"))

            started = time.perf_counter()
            before = os.times()
            subprocess.run(
                [sys.executable, "-m", "newsvault", "-a", str(archive.root), "run"],
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            after = os.times()
            wall = time.perf_counter() - started
            cpu = (after.children_user - before.children_user) + (
                after.children_system - before.children_system
            )
            rows.append(("cron: `newsvault run` polling every feed, 304s", wall, f"{cpu:.2f}"))
    finally:
        done.set()
        server.join(timeout=10)
    table = Table(title=f"dispatching {count} polls ({os.cpu_count()} cores, {WORKERS} workers)")
    for column in ("what", "seconds", "jobs per second", "CPU s"):
        table.add_column(column, justify="left" if column == "what" else "right")
    for name, seconds, cpu in rows:
        table.add_row(name, f"{seconds:.2f}", f"{count / seconds:,.0f}", cpu)
    Console().print(table)


if __name__ == "__main__":
    main()
