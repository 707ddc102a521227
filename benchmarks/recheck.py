"""Re-check benchmark: how many unchanged archived pages newsvault re-checks per second.

An archive of N articles archived from pages served on 127.0.0.1 (real article pages, about
10 KB each) is re-checked three times: the first look (every page fetched and extracted, the
baseline kept), then with the server answering 304 to the conditional GET, then with the
server sending the same bytes again without validators (a 200 whose capture matches the last
one: nothing is extracted). Beside it, the floor: the same conditional GETs made by a bare
aiohttp loop with the same concurrency, doing nothing with the answers. Target: at least 500
re-checks a second per core for unchanged pages.

    .venv/bin/python benchmarks/recheck.py [--articles 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsvault.archive import Archive  # noqa: E402
from newsvault.loopback import LoopbackServer, Route  # noqa: E402
from newsvault.models import to_ms  # noqa: E402
from newsvault.pages import archive_pages  # noqa: E402
from newsvault.watch.recheck import recheck  # noqa: E402

CONCURRENCY = 16
PARAGRAPH = (
    "<p>俄罗斯总统普京周三抵达平壤，与朝鲜领导人金正恩举行会谈，双方签署全面战略伙伴关系条约。</p>"
)


def page(n: int, extra: str = "") -> bytes:
    return (
        f"<html><head><title>报道 {n}</title>{extra}</head><body><article><h1>报道 {n}</h1>"
        + PARAGRAPH * 40
        + f"<p>第 {n} 篇。</p></article></body></html>"
    ).encode()


def serve(server: LoopbackServer, count: int, *, etags: bool, extra: str = "") -> list[str]:
    urls = []
    for n in range(count):
        path = f"/a/{n}.html"
        headers = {"Content-Type": "text/html; charset=utf-8"}
        body = page(n, extra)
        server.set(path, Route(body, headers=headers, etag=f'"{n}"' if etags else None))
        urls.append(server.url(path))
    return urls


def timed_recheck(archive: Archive, ids: list[int]) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    reports = recheck(archive, ids, now=to_ms(time.time()))
    seconds = time.perf_counter() - started
    outcome: dict[str, int] = {}
    for report in reports:
        key = report.status + (" same bytes" if report.same_bytes else "")
        outcome[key] = outcome.get(key, 0) + 1
    return seconds, outcome


async def bare_gets(urls: list[str]) -> float:
    limit = asyncio.Semaphore(CONCURRENCY)
    async with aiohttp.ClientSession() as session:

        async def one(n: int, url: str) -> None:
            async with limit, session.get(url, headers={"If-None-Match": f'"{n}"'}) as response:
                await response.read()

        started = time.perf_counter()
        await asyncio.gather(*(one(n, url) for n, url in enumerate(urls)))
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    args = parser.parse_args()
    console = Console()
    rows = []
    with LoopbackServer() as server, tempfile.TemporaryDirectory() as tmp:
        urls = serve(server, args.articles, etags=True)
        config = (
            "[fetch]\nallow_private_networks = true\nhost_delay = 0.0\n"
            f"per_host = {CONCURRENCY}\nconcurrency = {CONCURRENCY}\nrespect_robots = false\n"
        )
        archive = Archive.init(Path(tmp) / "a", config_text=config)
        started = time.perf_counter()
        reports = archive_pages(archive, urls)
        archived = time.perf_counter() - started
        ids = [r.article.id for r in reports if r.article is not None and r.article.id]
        assert len(ids) == args.articles, len(ids)
        rows.append(("archive the pages (for reference)", archived, {"archived": len(ids)}))
        rows.append(("newsvault: first re-check, 200 same bytes", *timed_recheck(archive, ids)))
        rows.append(("newsvault: unchanged, 304", *timed_recheck(archive, ids)))
        serve(server, args.articles, etags=False)
        rows.append(("newsvault: unchanged, 200 same bytes", *timed_recheck(archive, ids)))
        serve(server, args.articles, etags=False, extra="<!-- ad slot 2 -->")
        rows.append(("newsvault: new bytes, same text (extracted)", *timed_recheck(archive, ids)))
        serve(server, args.articles, etags=True)
        floor = asyncio.run(bare_gets(urls))
        rows.append(("floor: bare aiohttp conditional GETs", floor, {"304": len(urls)}))
    table = Table(title=f"re-checks of {args.articles} archived pages ({os.cpu_count()} cores)")
    for column in ("run", "seconds", "per second", "outcome"):
        table.add_column(column, justify="left" if column in ("run", "outcome") else "right")
    for name, seconds, outcome in rows:
        table.add_row(
            name, f"{seconds:.2f}", f"{args.articles / seconds:,.0f}",
            ", ".join(f"{n} {k}" for k, n in sorted(outcome.items())),
        )  # fmt: skip
    console.print(table)


if __name__ == "__main__":
    main()
