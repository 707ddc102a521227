"""Ingest benchmark: archive N feeds x 50 items from a loopback server, end to end.

Runs `newsvault run` (fetch, WARC capture, parse, sanitize, SQLite, markdown files) on
feeds whose items carry the whole article (the seed VOA article's HTML, about 5 KB), and
beside it the feed parsers alone on the same bytes: feedparser is the floor the whole
pipeline must beat, fastfeedparser what newsvault parses with.

    .venv/bin/python benchmarks/ingest.py [--feeds 20] [--items 50]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import fastfeedparser
import feedparser
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsvault import pipeline  # noqa: E402
from newsvault.archive import Archive  # noqa: E402
from newsvault.loopback import LoopbackServer, Route  # noqa: E402
from newsvault.publish.markdown import parse_article  # noqa: E402
from tests.feedgen import rss  # noqa: E402

SEED = ROOT / "tests" / "data" / "voa-1048574.md"


def build_feeds(server: LoopbackServer, feeds: int, items: int) -> dict[str, bytes]:
    body = parse_article(SEED.read_text(encoding="utf-8"), "seed").content
    documents = {}
    for n in range(feeds):
        name = f"feed{n:03d}"
        documents[name] = rss(name, items, base=server.base_url, body=body)
        server.set(f"/{name}.xml", Route(documents[name], etag=f'"{name}"'))
    return documents


def time_newsvault(server: LoopbackServer, documents: dict[str, bytes]) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        lines = ["[fetch]", "allow_private_networks = true", "per_host = 16", "host_delay = 0"]
        for name in documents:
            lines += ["[[sources]]", f'slug = "{name}"', f'name = "{name}"',
                      f'url = "{server.url(f"/{name}.xml")}"']  # fmt: skip
        archive = Archive.init(Path(tmp) / "a", config_text="\n".join(lines) + "\n")
        started = time.perf_counter()
        report = pipeline.run(archive, archive.sources())
        first = time.perf_counter() - started
        assert not report.failed, report.failed
        started = time.perf_counter()
        again = pipeline.run(archive, archive.sources())
        second = time.perf_counter() - started
        assert again.new == 0
    return first, second


def time_parser(parse, documents: dict[str, bytes]) -> float:
    started = time.perf_counter()
    for data in documents.values():
        parse(data)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--items", type=int, default=50)
    args = parser.parse_args()
    total = args.feeds * args.items
    with LoopbackServer() as server:
        documents = build_feeds(server, args.feeds, args.items)
        first, second = time_newsvault(server, documents)
    feedparser_s = time_parser(feedparser.parse, documents)
    fast_s = time_parser(fastfeedparser.parse, documents)
    size = sum(len(d) for d in documents.values()) / 1e6
    table = Table(title=f"ingest: {args.feeds} feeds x {args.items} items ({size:.1f} MB of feeds)")
    for column in ("what", "seconds", "items/s"):
        table.add_column(column, justify="left" if column == "what" else "right")
    table.add_row("newsvault run, end to end (first run)", f"{first:.2f}", f"{total / first:,.0f}")
    table.add_row("newsvault run again (all 304)", f"{second:.2f}", f"{total / second:,.0f}")
    table.add_row(
        "feedparser, parse only (the floor)", f"{feedparser_s:.2f}", f"{total / feedparser_s:,.0f}"
    )
    table.add_row("fastfeedparser, parse only", f"{fast_s:.2f}", f"{total / fast_s:,.0f}")
    Console().print(table)


if __name__ == "__main__":
    main()
