"""Search benchmark: newsvault's index (folded text, character pairs, FTS5) on a synthetic
archive of real Chinese sentences, beside the obvious alternative (FTS5 trigram on the raw
text) on the same articles: build speed, size, and query latency, two-character words,
the other script and name variants included.

    .venv/bin/python benchmarks/search.py [--articles 1000000] [--skip-peer]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import ROOT, synthetic

sys.path.insert(0, str(ROOT))
from newsvault.models import Article
from newsvault.store import Store
from newsvault.stories.fold import fold
from newsvault.stories.process import index_text
from newsvault.stories.search import search

QUERIES = {
    "two characters": ["条约", "经济", "朝鲜", "公园", "芯片", "疫情", "股市", "法院"],
    "three or more": ["普京", "金正恩", "共享充电宝", "全面战略", "华为", "人工智能", "监察法"],
    "other script": ["條約", "經濟", "臺灣", "華為"],
    "name variants": ["普丁", "北韩", "川普", "蒲亭"],
    "mixed": ["5G 手机", "iPhone 售价", "GDP 增长"],
}
T0 = 1718800000000


def build(store: Store, count: int, console: Console) -> float:
    source = store.ensure_source("bench", "bench")
    articles = synthetic(count, seed=11)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("storing", total=count)
        for start in range(0, count, 2000):
            batch = [
                Article(
                    source="bench",
                    key=f"k{n}",
                    url=f"https://bench.example/{n}",
                    title=title,
                    html="",
                    text=text,
                    published=T0 + n * 1000,
                    fetched=T0,
                )
                for n, (title, text) in enumerate(articles[start : start + 2000], start)
            ]
            store.add_articles(source, batch, None)
            progress.advance(task, len(batch))
        task = progress.add_task("indexing", total=count)
        started = time.perf_counter()
        with store.engine.begin() as conn:
            for n, (title, text) in enumerate(articles, 1):
                index_text(conn, n, fold(title), fold(text))
                if n % 2000 == 0:
                    progress.advance(task, 2000)
        seconds = time.perf_counter() - started
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return seconds


def trigram(db: Path, count: int) -> tuple[float, int]:
    conn = sqlite3.connect(db)
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(title, body, tokenize = 'trigram')")
    started = time.perf_counter()
    conn.executemany("INSERT INTO t (title, body) VALUES (?, ?)", synthetic(count, seed=11))
    conn.commit()
    seconds = time.perf_counter() - started
    conn.close()
    return seconds, db.stat().st_size


def trigram_query(db: Path, query: str) -> tuple[float, int]:
    conn = sqlite3.connect(db)
    started = time.perf_counter()
    rows = conn.execute(
        "SELECT rowid FROM t WHERE t MATCH ? ORDER BY rank LIMIT 20", (f'"{query}"',)
    ).fetchall()
    seconds = time.perf_counter() - started
    conn.close()
    return seconds, len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument(
        "--skip-peer",
        action="store_true",
        help="leave out the FTS5 trigram index (halves the time)",
    )
    args = parser.parse_args()
    console = Console(width=120)  # whole tables in a log file too
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "newsvault.db")
        seconds = build(store, args.articles, console)
        text_mb = sum(len(t.encode()) for _, t in synthetic(args.articles, seed=11)) / 1e6
        size = sum(p.stat().st_size for p in Path(tmp).glob("newsvault.db*")) / 1e6
        rows = []
        for kind, queries in QUERIES.items():
            latencies, hits = [], 0
            for _ in range(3):
                for query in queries:
                    started = time.perf_counter()
                    hits += len(search(store, query))
                    latencies.append(time.perf_counter() - started)
            rows.append((kind, latencies, hits // 3 / len(queries)))
        store.close()
        if not args.skip_peer:
            tri_seconds, tri_size = trigram(Path(tmp) / "trigram.db", args.articles)
            tri = {
                q: trigram_query(Path(tmp) / "trigram.db", q) for q in ("条约", "全面战略", "普丁")
            }
    build_table = Table(title=f"index build: {args.articles:,} articles, {text_mb:,.0f} MB of text")
    for column in ("index", "docs/s", "database MB", "× text"):
        build_table.add_column(column, justify="left" if column == "index" else "right")
    build_table.add_row(
        "newsvault (folded character pairs)",
        f"{args.articles / seconds:,.0f}",
        f"{size:,.0f}",
        f"{size / text_mb:.1f}",
    )
    if not args.skip_peer:
        build_table.add_row(
            "FTS5 trigram, raw text",
            f"{args.articles / tri_seconds:,.0f}",
            f"{tri_size / 1e6:,.0f}",
            f"{tri_size / 1e6 / text_mb:.1f}",
        )
    console.print(build_table)
    query_table = Table(title="queries (newsvault search: ranked, 20 results with snippets)")
    for column in ("queries", "p50 ms", "p95 ms", "results per query"):
        query_table.add_column(column, justify="left" if column == "queries" else "right")
    for kind, latencies, hits in rows:
        p50 = statistics.median(latencies) * 1000
        p95 = statistics.quantiles(latencies, n=20)[-1] * 1000
        query_table.add_row(kind, f"{p50:.1f}", f"{p95:.1f}", f"{hits:.1f}")
    console.print(query_table)
    if not args.skip_peer:
        console.print(
            "FTS5 trigram on the same text: "
            + "; ".join(f"{q}: {n} results in {s * 1000:.1f} ms" for q, (s, n) in tri.items())
        )


if __name__ == "__main__":
    main()
