"""Worker benchmark: archive throughput of 1, 2 and 4 `newsvault worker` processes sharing one
PostgreSQL database, beside one `newsvault watch` on SQLite (the one-machine setup).

A loopback newsroom (a server in a process of its own): F feeds of N items each, half with
the articles' text in the feed, half with a summary only, so that each item's page is fetched
and extracted too. Each setup starts from an empty archive and database, starts its
processes, and is timed from their start until every article is stored; then it is stopped
(SIGTERM) and its CPU is read: each worker's (its rusage), PostgreSQL's (the CPU of the
backends serving the benchmark's database, read from /proc while they run) and the
server's. The machine's cores are shared by all of them: "CPU ms per article" is the CPU
all of them spent for one article (the workers' start-up, reading the code and the settings,
left out), and "ceiling" the rate the machine's cores could give at that cost, all else
idle. A worker's database calls wait for their commits (the WAL flushed to disk): "commit
wait" is the commits per article times what one commit takes on this server, time in which
that worker does nothing else (its calls are synchronous) while the others may work. "Machine
busy" is how much of all the cores' time was used during the run, by anything: another
process's load shows there and in the seconds.

    .venv/bin/python benchmarks/workers.py [--feeds 24] [--items 25] [--workers 1 2 4]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsvault.archive import Archive  # noqa: E402
from newsvault.loopback import LoopbackServer, Route  # noqa: E402

ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"
DATABASE = "newsvault_bench_workers"
URL = f"postgresql://postgres@127.0.0.1:5432/{DATABASE}"
START = dt.datetime(2024, 6, 19, 8, 0, tzinfo=dt.UTC)
TICKS = os.sysconf("SC_CLK_TCK")
SENTENCE = (
    "俄罗斯总统普京周三抵达平壤，与朝鲜领导人金正恩举行会谈，双方签署了全面战略伙伴关系条约。"
)
RSS = {"Content-Type": "application/rss+xml"}
HTML = {"Content-Type": "text/html; charset=utf-8"}


def paragraphs(feed: int, item: int) -> str:
    return "".join(f"<p>第{feed}-{item}-{n}段。{SENTENCE * 3}</p>" for n in range(8))


def feed_document(base: str, feed: int, items: int) -> bytes:
    """Even feeds carry each article's text; odd ones a summary and a link to its page."""
    entries = []
    for item in reversed(range(items)):
        published = format_datetime(START + dt.timedelta(minutes=item), usegmt=True)
        text = (
            f"<content:encoded><![CDATA[{paragraphs(feed, item)}]]></content:encoded>"
            if feed % 2 == 0
            else ""
        )
        entries.append(
            f"<item><guid>f{feed}-{item}</guid><title>来源{feed} 报道 {item}</title>"
            f"<link>{base}/{feed}/{item}.html</link><pubDate>{published}</pubDate>"
            f"<description>摘要 {item}。</description>{text}</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>来源{feed}</title><link>{base}/</link>{''.join(entries)}</channel></rss>"
    ).encode()


def page(feed: int, item: int) -> bytes:
    title = f"来源{feed} 报道 {item}"
    return (
        f"<html><head><title>{title}</title></head><body><nav>首页 | 国际</nav><article>"
        f"<h1>{title}</h1>{paragraphs(feed, item)}</article><footer>版权所有</footer></body></html>"
    ).encode()


def serve(feeds: int, items: int, ready: Any, done: Any) -> None:
    with LoopbackServer() as server:
        base = server.base_url
        for feed in range(feeds):
            server.set(f"/{feed}.xml", Route(feed_document(base, feed, items), headers=RSS))
            for item in range(items):
                server.set(f"/{feed}/{item}.html", Route(page(feed, item), headers=HTML))
        ready.send(base)
        done.wait()


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a live process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / TICKS, sum(values) / TICKS


@dataclass
class Result:
    setup: str
    processes: int
    articles: int
    seconds: float
    worker_cpu: list[float]
    startup_cpu: float  # of all the processes, before each took its first job
    database_cpu: float
    server_cpu: float
    busy: float  # of all the cores' time in the run
    commits: int = 0  # transactions committed in the database


def fresh_database() -> None:
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DATABASE}")


def make_archive(root: Path, base: str, feeds: int, database: str | None) -> Archive:
    lines = [f'database = "{database}"', ""] if database else []
    lines += [
        "[fetch]", "allow_private_networks = true", "host_delay = 0.0", "per_host = 8",
        "respect_robots = false", "", "[watch]", 'interval = "1h"', "",
    ]  # fmt: skip
    for feed in range(feeds):
        lines += ["[[sources]]", f'slug = "s{feed}"', f'url = "{base}/{feed}.xml"', ""]
    return Archive.init(root, config_text="\n".join(lines))


def stored(archive: Archive) -> int:
    store = archive.store()
    try:
        return sum(state.articles for state in store.source_states().values())
    finally:
        store.close()


def commits(admin: psycopg.Connection) -> int:
    admin.execute("SELECT pg_stat_clear_snapshot()")
    row = admin.execute(
        "SELECT xact_commit FROM pg_stat_database WHERE datname = %s", (DATABASE,)
    ).fetchone()
    return int(row[0]) if row else 0


def commit_latency() -> float:
    """Seconds one small committed write takes on this server (its WAL flushed to disk)."""
    with psycopg.connect(URL) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS commit_probe (x integer)")
        conn.commit()
        started = time.perf_counter()
        for _ in range(100):
            conn.execute("INSERT INTO commit_probe VALUES (1)")
            conn.commit()
        return (time.perf_counter() - started) / 100


def backend_pids(admin: psycopg.Connection) -> list[int]:
    rows = admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        (DATABASE,),
    ).fetchall()
    return [pid for (pid,) in rows]


def measure(
    setup: str, root: Path, base: str, args: argparse.Namespace, command: str, processes: int
) -> Result:
    on_postgres = command == "worker"
    if on_postgres:
        fresh_database()
    archive = make_archive(root, base, args.feeds, URL if on_postgres else None)
    expected = args.feeds * args.items
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("NEWSVAULT_DATABASE", None)
    admin = psycopg.connect(ADMIN, autocommit=True)
    backends: dict[int, float] = {}
    commits_before = commits(admin)
    server_before = cpu_seconds(args.server_pid)
    busy_before = machine_busy()
    started = time.perf_counter()
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "newsvault", "-a", str(root), command, "--log-format", "json"],
            stdout=subprocess.DEVNULL,
            stderr=(root / f"{command}-{n}.log").open("wb"),
            env=env,
        )
        for n in range(processes)
    ]
    startup: dict[int, float] = {}  # each process's CPU when it said it started
    try:
        while (count := stored(archive)) < expected:
            for n, child in enumerate(children):
                if (
                    child.pid not in startup
                    and b'"started"' in (root / f"{command}-{n}.log").read_bytes()
                ):
                    startup[child.pid] = cpu_seconds(child.pid)
            if on_postgres:
                for pid in backend_pids(admin):
                    backends[pid] = max(backends.get(pid, 0.0), cpu_seconds(pid))
            if time.perf_counter() - started > args.timeout:
                raise SystemExit(f"{setup}: {count} of {expected} articles after {args.timeout} s")
            time.sleep(0.1)
        seconds = time.perf_counter() - started
        busy_after = machine_busy()
        if on_postgres:
            for pid in backend_pids(admin):
                backends[pid] = max(backends.get(pid, 0.0), cpu_seconds(pid))
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
    worker_cpu = []
    for child in children:
        _, status, usage = os.wait4(child.pid, 0)
        worker_cpu.append(usage.ru_utime + usage.ru_stime)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{setup}: a process ended with {status}; see {root}")
    committed = commits(admin) - commits_before if on_postgres else 0
    admin.close()
    busy = (busy_after[0] - busy_before[0]) / (busy_after[1] - busy_before[1])
    return Result(
        setup, processes, count, seconds, worker_cpu, sum(startup.values()),
        sum(backends.values()), cpu_seconds(args.server_pid) - server_before, busy, committed,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=24)
    parser.add_argument("--items", type=int, default=25)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    ours, theirs = multiprocessing.Pipe()
    done = multiprocessing.Event()
    server = multiprocessing.Process(
        target=serve, args=(args.feeds, args.items, theirs, done), daemon=True
    )
    server.start()
    base = ours.recv()
    args.server_pid = server.pid
    args.load = os.getloadavg()[0]
    results = []
    fresh_database()
    args.commit_ms = commit_latency() * 1000
    try:
        with tempfile.TemporaryDirectory() as tmp:
            results.append(measure("watch, SQLite", Path(tmp) / "sqlite", base, args, "watch", 1))
            for count in args.workers:
                root = Path(tmp) / f"workers-{count}"
                results.append(measure("worker, PostgreSQL", root, base, args, "worker", count))
    finally:
        done.set()
        server.join(timeout=10)
        fresh_database()
    cores = os.cpu_count() or 1
    pages = args.feeds // 2 * args.items
    table = Table(
        title=f"archiving {args.feeds * args.items} articles ({args.feeds} feeds, {pages} of "
        f"the articles from their pages) on {cores} cores"
    )
    for column in (
        "setup", "processes", "seconds", "articles/s", "speed-up", "CPU s per worker",
        "of it starting", "PostgreSQL CPU s", "commits per article", "commit wait ms per article",
        "server CPU s", "CPU ms per article",
        f"ceiling on {cores} cores", "machine busy",
    ):  # fmt: skip
        table.add_column(column, justify="left" if column == "setup" else "right")
    single = next((r for r in results if r.setup.startswith("worker") and r.processes == 1), None)
    for r in results:
        rate = r.articles / r.seconds
        worker = r.setup.startswith("worker")
        work = sum(r.worker_cpu) - r.startup_cpu + r.database_cpu + r.server_cpu
        per_article = work / r.articles
        speed = f"{rate / (single.articles / single.seconds):.2f}×" if single else "-"
        table.add_row(
            r.setup, str(r.processes), f"{r.seconds:.1f}", f"{rate:.1f}",
            speed if worker else "-",
            f"{sum(r.worker_cpu) / len(r.worker_cpu):.1f}",
            f"{r.startup_cpu / len(r.worker_cpu):.1f}",
            f"{r.database_cpu:.1f}" if worker else "-",
            f"{r.commits / r.articles:.1f}" if worker else "-",
            f"{r.commits / r.articles * args.commit_ms:.0f}" if worker else "-",
            f"{r.server_cpu:.1f}", f"{per_article * 1000:.0f}", f"{cores / per_article:.1f}/s",
            f"{r.busy:.0%}",
        )  # fmt: skip
    Console(width=200).print(table)
    print(
        f"load average before the first run: {args.load:.1f}; one commit on this PostgreSQL "
        f"(its WAL flushed): {args.commit_ms:.1f} ms"
    )


if __name__ == "__main__":
    main()
